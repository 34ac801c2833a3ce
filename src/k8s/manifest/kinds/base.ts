// What every reader is handed besides the metadata: apiVersion and the source position.

import type { Source } from "../../model.js";

export interface Base {
  apiVersion: string;
  source: Source;
}
