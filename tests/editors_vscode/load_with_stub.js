// Load the built out/extension.js against a stub `vscode` module and a recording
// LanguageClient; print what activation did (JSON) for tests/test_editors_vscode_build.py.
"use strict";
const Module = require("module");
const path = require("path");
const ext = process.argv[2];
const trusted = process.argv[3] === "trusted";
const seen = { clients: [], commands: [], trustListeners: 0 };

const vscode = {
  workspace: {
    isTrusted: trusted,
    getConfiguration: () => ({ get: (_key, fallback) => fallback }),
    createFileSystemWatcher: (glob) => ({ glob, dispose() {} }),
    onDidChangeConfiguration: () => ({ dispose() {} }),
    onDidGrantWorkspaceTrust: () => {
      seen.trustListeners += 1;
      return { dispose() {} };
    },
  },
  window: {
    createOutputChannel: (name) => ({ name, dispose() {}, appendLine() {} }),
    showErrorMessage: (m) => seen.errors = (seen.errors || []).concat([m]),
  },
  commands: {
    registerCommand: (id) => {
      seen.commands.push(id);
      return { dispose() {} };
    },
  },
};

class LanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    seen.clients.push({
      id, name,
      command: serverOptions.run.command,
      documentSelector: clientOptions.documentSelector,
      initializationOptions: clientOptions.initializationOptions,
    });
  }
  start() { return Promise.resolve(); }
  stop() { return Promise.resolve(); }
  isRunning() { return true; }
}

const realLoad = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "vscode") return vscode;
  if (request === "vscode-languageclient/node") {
    return { LanguageClient, TransportKind: { stdio: 0 } };
  }
  return realLoad.call(this, request, parent, isMain);
};

const extension = require(path.resolve(ext, "out", "extension.js"));
extension.activate({ subscriptions: [] }).then(() => {
  process.stdout.write(JSON.stringify(seen));
});
