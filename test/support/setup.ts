/**
 * Loaded by mocha (.mocharc.json `require`) in every test process before any test file: moto
 * servers are kept and reset between their users in that process, not started for each.
 */
import { reuseMotoServers } from "../../local/moto";

reuseMotoServers();
