#!/usr/bin/env node
// The kubewire bin.
import { main } from "./cli.js";

process.exitCode = await main(process.argv.slice(2));
