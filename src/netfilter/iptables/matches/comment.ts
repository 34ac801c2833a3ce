// -m comment --comment TEXT (net/netfilter/xt_comment.c): matches everything; kube-proxy names
// every rule's service with it. Printed with xtables_save_string's quoting.

import { fail } from "../fail.js";
import { saveString } from "../values.js";
import { defineMatch, matchAlways } from "../xt.js";

/** XT_MAX_COMMENT_LEN: 256 bytes including the terminating NUL. */
const MAX_COMMENT = 255;

export interface CommentSpec {
  comment: string | null;
}

export const commentMatch = defineMatch<CommentSpec>({
  name: "comment",
  options: { "--comment": { args: 1 } },
  init: () => ({ comment: null }),
  parse(spec, _option, args) {
    if (args[0].length * 3 > MAX_COMMENT && Buffer.byteLength(args[0]) > MAX_COMMENT) fail(`comment may not exceed ${MAX_COMMENT} characters`, args[0]);
    spec.comment = args[0];
  },
  final(spec) {
    if (spec.comment === null) fail('comment: option "--comment" must be specified', "-m comment", "--comment TEXT");
  },
  save: (spec) => ` --comment${saveString(spec.comment ?? "")}`,
  compile: () => matchAlways,
});
