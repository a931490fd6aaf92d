// VS Code client for ame-lsp, the language server for AME project files
// (ame.yml / ame.yaml). The server itself is the Python console script
// `ame-lsp` (pip install the project); it speaks LSP over stdio.
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

const CLIENT_ID = "ame"; // also makes the client honour the `ame.trace.server` setting
const CLIENT_NAME = "AME Language Server";
const DEFAULT_SERVER = "ame-lsp";
const DEFAULT_DEBOUNCE_MS = 150;

let client: LanguageClient | undefined;
let outputChannel: vscode.OutputChannel | undefined;

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration("ame");
}

function debounceMs(): number {
  return config().get<number>("diagnostics.debounceMs", DEFAULT_DEBOUNCE_MS);
}

function lensesAllowed(): boolean {
  return vscode.workspace.isTrusted && config().get<boolean>("codeLens.enabled", true);
}

function createClient(): LanguageClient {
  const command = config().get<string>("server.path", DEFAULT_SERVER) || DEFAULT_SERVER;
  const args = config().get<string[]>("server.args", []);

  const serverOptions: ServerOptions = {
    run: { command, args, transport: TransportKind.stdio },
    debug: { command, args, transport: TransportKind.stdio },
  };

  const clientOptions: LanguageClientOptions = {
    // Untitled documents too: a new file set to the AME language is served before it is saved.
    documentSelector: [
      { scheme: "file", language: "ame" },
      { scheme: "untitled", language: "ame" },
      { scheme: "file", pattern: "**/ame.{yml,yaml}" },
    ],
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher("**/ame.{yml,yaml}"),
    },
    // The lenses start the project's code: only in a trusted workspace (the client restarts
    // when trust is granted).
    initializationOptions: { debounceMs: debounceMs(), codeLens: lensesAllowed() },
    outputChannel,
  };

  return new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
}

async function startClient(): Promise<void> {
  client = createClient();
  try {
    await client.start();
  } catch (err) {
    const command = config().get<string>("server.path", DEFAULT_SERVER);
    void vscode.window.showErrorMessage(
      `AME: could not start the language server "${command}" (${String(err)}). ` +
        "Install it with `pip install` of the AME console project, or set `ame.server.path`.",
    );
  }
}

async function stopClient(): Promise<void> {
  const old = client;
  client = undefined;
  if (old) {
    try {
      await old.stop();
    } catch {
      // The server may never have started; nothing to clean up.
    }
  }
}

async function restartClient(): Promise<void> {
  await stopClient();
  await startClient();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  outputChannel = vscode.window.createOutputChannel(CLIENT_NAME);
  context.subscriptions.push(outputChannel);

  context.subscriptions.push(
    vscode.commands.registerCommand("ame.restartServer", restartClient),
    vscode.workspace.onDidGrantWorkspaceTrust(restartClient),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("ame.server") || event.affectsConfiguration("ame.codeLens")) {
        // A new command line needs a new process.
        await restartClient();
      } else if (event.affectsConfiguration("ame.diagnostics.debounceMs") && client?.isRunning()) {
        // Same shape as initializationOptions.
        await client.sendNotification("workspace/didChangeConfiguration", {
          settings: { debounceMs: debounceMs() },
        });
      }
    }),
  );

  await startClient();
}

export function deactivate(): Thenable<void> | undefined {
  return stopClient();
}
