// Parse a GIFT file with gift-pegjs (the parser Moodle-compatible tools use) and print its questions as JSON.
// Usage: node tests/node/gift.js FILE.gift
const { parse } = require("gift-pegjs");
const fs = require("fs");
process.stdout.write(JSON.stringify(parse(fs.readFileSync(process.argv[2], "utf8"))));
