// Manifests from disk, with `kubectl apply -f` habits: a file, or a folder's .yaml, .yml and
// .json files sorted by name (its subfolders too with `recursive`, like -R).

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { K8sObject } from "../model.js";
import type { Diagnostic } from "./diagnostics.js";
import { type ParseOptions, type ParseResult, readManifestText, removeDuplicates } from "./parse.js";

export interface LoadOptions extends Omit<ParseOptions, "file"> {
  /** Descend into subfolders (kubectl apply -R). */
  recursive?: boolean;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** Loads manifests from files and folders; a path that cannot be read is a diagnostic. */
export function loadManifests(paths: string | readonly string[], opts: LoadOptions = {}): ParseResult {
  const objects: K8sObject[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const path of typeof paths === "string" ? [paths] : paths) {
    const files = listManifestFiles(path, opts.recursive ?? false, diagnostics);
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (e) {
        diagnostics.push(ioDiagnostic(file, e));
        continue;
      }
      const r = readManifestText(text, file, opts.defaultNamespace ?? "default");
      objects.push(...r.objects);
      diagnostics.push(...r.diagnostics);
    }
  }
  return { objects: removeDuplicates(objects, diagnostics), diagnostics };
}

/** The manifest files a path stands for: itself, or a folder's manifests sorted by name. */
export function listManifestFiles(path: string, recursive = false, diagnostics: Diagnostic[] = []): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    diagnostics.push(ioDiagnostic(path, e));
    return [];
  }
  if (!isDir) return [path];
  const out: string[] = [];
  const entries = readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = join(path, e.name);
    if (e.isDirectory()) {
      if (recursive) out.push(...listManifestFiles(full, true, diagnostics));
    } else if (MANIFEST_FILE.test(e.name)) out.push(full);
  }
  return out;
}

function ioDiagnostic(file: string, e: unknown): Diagnostic {
  const code = (e as NodeJS.ErrnoException).code;
  const message = code === "ENOENT" ? "no such file or folder" : `cannot read: ${(e as Error).message}`;
  return { file, doc: 0, line: 1, col: 1, severity: "error", code: "io", path: "", message };
}
