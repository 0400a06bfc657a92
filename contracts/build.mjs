// Compiles src/*.sol with solc-js (no compiler download) for Prague and writes out/<Contract>.json
// with the ABI, the creation bytecode and the runtime bytecode. Run: npm install && npm run build.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const solc = require("solc");
const here = path.dirname(new URL(import.meta.url).pathname);
const sources = {};
for (const file of fs.readdirSync(path.join(here, "src")).sort()) {
  if (file.endsWith(".sol")) {
    sources[file] = { content: fs.readFileSync(path.join(here, "src", file), "utf8") };
  }
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: "prague",
    optimizer: { enabled: true, runs: 200 },
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);
fs.mkdirSync(path.join(here, "out"), { recursive: true });
for (const [file, contracts] of Object.entries(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    if (!c.evm.bytecode.object) continue; // an interface
    const artifact = {
      contractName: name,
      sourceName: `src/${file}`,
      compiler: `solc-js ${solc.version()}`,
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
    fs.writeFileSync(path.join(here, "out", `${name}.json`), JSON.stringify(artifact, null, 2) + "\n");
    console.log(`out/${name}.json: ${c.evm.deployedBytecode.object.length / 2} bytes of runtime code`);
  }
}
