// The certificate ingress-nginx presents when no Secret matches the SNI (or a Secret is missing):
// its "Kubernetes Ingress Controller Fake Certificate" (O=Acme Co, SAN ingress.local, RSA 2048),
// self-signed. ingress-nginx generates one at start-up; kubewire generated this one once and
// keeps it, so runs do not depend on key generation (OpenSSL 3.0):
//   openssl genrsa -out fake.key 2048
//   openssl req -new -key fake.key -subj "/O=Acme Co/CN=Kubernetes Ingress Controller Fake Certificate" -out fake.csr
//   openssl ca -batch -config ca.cnf -selfsign -keyfile fake.key -in fake.csr \
//     -startdate 20250101000000Z -enddate 21250101000000Z -extensions ext -out fake.crt -notext
// with ca.cnf [ext]: subjectAltName = DNS:ingress.local, basicConstraints = critical,CA:FALSE,
// keyUsage = critical,digitalSignature,keyEncipherment, extendedKeyUsage = serverAuth.
// Test material only: the key is public.

import type { L7Certificate } from "./types.js";

export const FAKE_CERTIFICATE_ORIGIN = "fallback (Kubernetes Ingress Controller Fake Certificate)";

export const FAKE_CERTIFICATE_PEM = `-----BEGIN CERTIFICATE-----
MIIDgTCCAmmgAwIBAgIBATANBgkqhkiG9w0BAQsFADBLMRAwDgYDVQQKDAdBY21l
IENvMTcwNQYDVQQDDC5LdWJlcm5ldGVzIEluZ3Jlc3MgQ29udHJvbGxlciBGYWtl
IENlcnRpZmljYXRlMCAXDTI1MDEwMTAwMDAwMFoYDzIxMjUwMTAxMDAwMDAwWjBL
MRAwDgYDVQQKDAdBY21lIENvMTcwNQYDVQQDDC5LdWJlcm5ldGVzIEluZ3Jlc3Mg
Q29udHJvbGxlciBGYWtlIENlcnRpZmljYXRlMIIBIjANBgkqhkiG9w0BAQEFAAOC
AQ8AMIIBCgKCAQEAoPyVPxDz97nDxas7ftLp4trEbWGCHaKFoplfAf/DnWEGkdZF
K+NDB2JG9jEpIO17SpFzxSXucWBcaaDJoImIJvVWldZeq2Iy/ezky/aU9owQpWYW
raWyWzkKYyXX/owA3lODa6/847Btvk4CkcP+arkOwXRvN/nBpbTkCPuzsEVRAWCu
JJocM9cDRcYSxETadB4Fkqjpsb6ut15VsP/6OnNGsjAQf0l+OVvI9cEVu4CXlDCC
9kLnbjq5g05DhrzaEsudP0YEgmts1VGGE5A4JYbpDjtbNhzL+CjuFZMecfU5xf5P
x3Zl2TkyGc7pxoiiu4Z1Q8IIbnNyoHZ9K0HSdQIDAQABo24wbDAYBgNVHREEETAP
gg1pbmdyZXNzLmxvY2FsMAwGA1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQDAgWgMBMG
A1UdJQQMMAoGCCsGAQUFBwMBMB0GA1UdDgQWBBQgMe/GrJehoMglN/cmETDmpkiW
CDANBgkqhkiG9w0BAQsFAAOCAQEAV7S/1pAM7plhCVOakS/E1YVIVIVzFojT9cwE
dE+6z69EKp2jnMmMyHLuCk3/mP8MfXZD/4E14+9rJYdi3fe2IfOSVIkq2kGuhzjD
H3pvL/nMnruSbR8W8ZCZojznEFkEtn4rAZ6emYTUDwAtC4xW0nom7QPD7a3oWklP
g9Fc2GLT3LDmH72xRkT1U1YRW8nTwgfFvMfy9Pd+egXpQIVLx6RYN8kNMRnWpcpe
HA5f5G4OtiEX+JaMWfq3aR81UHabuf/Sa5P3aJgLLpt//FYtOnGIV6qxkhANv1yS
yJ0ds9jMw8u6bEw6QQ/rA5OdFbOMW4RTJo2DP+C6shozvm6sSA==
-----END CERTIFICATE-----
`;

export const FAKE_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCg/JU/EPP3ucPF
qzt+0uni2sRtYYIdooWimV8B/8OdYQaR1kUr40MHYkb2MSkg7XtKkXPFJe5xYFxp
oMmgiYgm9VaV1l6rYjL97OTL9pT2jBClZhatpbJbOQpjJdf+jADeU4Nrr/zjsG2+
TgKRw/5quQ7BdG83+cGltOQI+7OwRVEBYK4kmhwz1wNFxhLERNp0HgWSqOmxvq63
XlWw//o6c0ayMBB/SX45W8j1wRW7gJeUMIL2QuduOrmDTkOGvNoSy50/RgSCa2zV
UYYTkDglhukOO1s2HMv4KO4Vkx5x9TnF/k/HdmXZOTIZzunGiKK7hnVDwghuc3Kg
dn0rQdJ1AgMBAAECggEAAem8ilo5lafpCs637HTsM83Mv0ZO0E91+66bA/9O6+aD
oPyiPz/+LEgrLQpCc/NLG6eeGqHFANG4zyrzTdJI7vB+FJvteSk7op5qxbxhAcHf
XtPqxTHaRZSyAVQZ6ypjWbVcWdVPXVktMMym8TmWh+YilmPeXYEh7Q+CkVsvQ/Ab
j5+zlsO2ADoyMvxfwfg6dvsoe+YfnvTHVLgf+esLqNsgX7TmioZpI1CVcDdi0WHu
wYkKr3SFFq+s5T4Ugfu5EpomGYBQbXW9CkwWhVOMh9HrGa3Vb759aWzf481v9BJv
Ad5XoJGfdUd7SOt0O/9Km+aEz2Z/qwPJbW6GgcBDMQKBgQDPPaj7ahbi+5uucxM4
aqV/gu8sRRWjjDGTG+WszKd4ERRnkXf4lDObkPaAk6M5dvoXmDlqv6SWNIfswZBs
Hg1fP6GqJVBu0gGeK9uXa+FxW+0t5zdHbuG33YPgSxL4pYhmis00i0PMqGu6m7RO
dIzzSiq1gCjRJL8rFWQyHOw9TwKBgQDG3Pt0CicNDXQwQX8mR7J1D5vMvkZLDR1j
thtazYSJKq+hWqwUH2gx8E57t/06AgR7ausl/tvHG11kOOTpRzhWM11v2X6c6lop
0GqL+Ufs7UDLdiiWJfcK978eOTCy1F3JpiD0tHmr/90ZfMPsqeBVBc5tNpPTD1og
LMZ9VBFq+wKBgQC6zbe+OBi9LVNdYjkXB3p6f8mbPAKPU1V0ZxcWNbtXDP45hPSB
SwVh2r93kpz0tXwlPH+0614uTtee37OQ4V3oV3Ef71abLg1rR9k+mm2yQsx+Lga0
CwzHMZMn4EQPgRZ8Z+0kycupdL72jFdwyLosqtPomscwDlGLQlL4oP2JHQKBgDI1
q1tyEMgP5I0mjFb69UjvJvQ7+n2KkygQ27lCeLs1RuDjht0RzPoG5ZoBK3OQ/Na4
eSS/w3fzJdJfNxTbQZMqJuZNsNUnqpoyICS1TP66LIjyjW7TqRtg0CVuZShRzFhU
lK+UPcA6uvVrdgB0J8rvy13x0MMSdjv3cipEpp0vAoGAKOqkrgXF9XEFa+d+aU0x
bpbdCRNTb73KmE4ZbYMSqZbOz1zIICsB8XP7h8YP6tl4ZfyaiQkRiMAUxy0/tEzG
6Lb/tN2K0OqsbmpYmLjQdpAailkIbAJviaikgTEFlE8GhyipCTwxSPj7usxF7ZIr
k85pFTb1+iQ3bVjH+d9qfiY=
-----END PRIVATE KEY-----
`;

/** The fallback certificate as the router contract carries certificates. */
export const FAKE_CERTIFICATE: L7Certificate = { cert: FAKE_CERTIFICATE_PEM, key: FAKE_KEY_PEM, origin: FAKE_CERTIFICATE_ORIGIN };
