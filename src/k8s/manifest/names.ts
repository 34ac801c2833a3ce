// Kubernetes name and label syntax, as k8s.io/apimachinery/pkg/util/validation checks it.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])*$/;

/** Which rule a name follows: Pods, Deployments, Nodes… are subdomains; Services are DNS-1035. */
export type NameRule = "dns1123-subdomain" | "dns1123-label" | "dns1035-label";

export const isDns1123Label = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s);
export const isDns1123Subdomain = (s: string): boolean => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
export const isDns1035Label = (s: string): boolean => s.length <= 63 && DNS1035_LABEL.test(s);

const RULES: Record<NameRule, { test: (s: string) => boolean; describe: string }> = {
  "dns1123-subdomain": {
    test: isDns1123Subdomain,
    describe:
      "a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters",
  },
  "dns1123-label": {
    test: isDns1123Label,
    describe:
      "a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
  },
  "dns1035-label": {
    test: isDns1035Label,
    describe:
      "a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters",
  },
};

/** Why `s` is not a valid name under `rule`, or undefined if it is. */
export function checkName(s: string, rule: NameRule): { message: string; hint?: string } | undefined {
  const r = RULES[rule];
  if (r.test(s)) return undefined;
  const fixed = sanitizeName(s, rule);
  return {
    message: `"${s}" is not a valid name (expected ${r.describe})`,
    hint: fixed && fixed !== s && r.test(fixed) ? `did you mean "${fixed}"?` : undefined,
  };
}

/** A best guess at the valid name the author meant ("Web_Server" → "web-server"). */
export function sanitizeName(s: string, rule: NameRule): string {
  const allowed = rule === "dns1123-subdomain" ? /[^a-z0-9.-]/g : /[^a-z0-9-]/g;
  let out = s.toLowerCase().replace(/[_ ]/g, "-").replace(allowed, "");
  out = out.replace(/^[-.]+|[-.]+$/g, "").slice(0, rule === "dns1123-subdomain" ? 253 : 63);
  if (rule === "dns1035-label") out = out.replace(/^[0-9-]+/, "");
  return out.replace(/[-.]+$/g, "");
}

/**
 * A named port (container port name, Service targetPort by name): an IANA service name, at
 * most 15 characters, with at least one letter and no "--" (validation.IsValidPortName).
 */
export function checkPortName(s: string): string | undefined {
  if (s.length > 15) return `"${s}" is too long for a port name (at most 15 characters)`;
  if (!IANA_SVC_NAME.test(s))
    return `"${s}" is not a valid port name (expected lowercase letters, digits and '-', starting and ending with a letter or digit)`;
  if (s.includes("--")) return `"${s}" is not a valid port name (it may not contain "--")`;
  if (!/[a-z]/.test(s)) return `"${s}" is not a valid port name (it must contain at least one letter)`;
  return undefined;
}

/** A label key: an optional DNS subdomain prefix and "/", then a name of at most 63 characters. */
export function checkLabelKey(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isDns1123Subdomain(prefix))
    return `label key "${key}" has an invalid prefix "${prefix}" (expected a DNS-1123 subdomain such as app.kubernetes.io)`;
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name))
    return `"${key}" is not a valid label key (expected at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, with an optional "prefix/")`;
  return undefined;
}

/** A label value: empty, or at most 63 letters, digits, '-', '_', '.', alphanumeric at both ends. */
export function checkLabelValue(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63 || !LABEL_NAME.test(value))
    return `"${value}" is not a valid label value (expected at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`;
  return undefined;
}
