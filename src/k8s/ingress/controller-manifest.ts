// The objects an L7 controller runs as, in kubewire's words for what the projects deploy:
// ingress-nginx's cloud manifest (deploy/static/provider/cloud/deploy.yaml: namespace
// ingress-nginx, the ingress-nginx-controller Deployment with ports http 80 and https 443, its
// Service of type LoadBalancer with externalTrafficPolicy Local, IngressClass nginx), and what a
// Gateway implementation provisions per Gateway (a Deployment and a LoadBalancer Service named
// after it, in the Gateway's namespace, one port per listener).

/** ingress-nginx's labels on the controller's pods and Service selector. */
export const INGRESS_NGINX_LABELS = {
  "app.kubernetes.io/name": "ingress-nginx",
  "app.kubernetes.io/instance": "ingress-nginx",
  "app.kubernetes.io/component": "controller",
} as const;

export const INGRESS_NGINX_NAMESPACE = "ingress-nginx";
export const INGRESS_NGINX_SERVICE = "ingress-nginx/ingress-nginx-controller";

const labels = (l: Record<string, string>, indent: string) => Object.entries(l).map(([k, v]) => `${indent}${k}: ${v}`).join("\n");

/** The load balancer's address goes into status, as the cloud controller would write it. */
export function ingressNginxManifest(loadBalancerIP: string, replicas: number): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ingress-nginx
  labels:
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/instance: ingress-nginx
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  labels:
${labels(INGRESS_NGINX_LABELS, "    ")}
spec:
  controller: k8s.io/ingress-nginx
---
apiVersion: v1
kind: Service
metadata:
  name: ingress-nginx-controller
  namespace: ingress-nginx
  labels:
${labels(INGRESS_NGINX_LABELS, "    ")}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector:
${labels(INGRESS_NGINX_LABELS, "    ")}
  ports:
  - {name: http, port: 80, protocol: TCP, targetPort: http, appProtocol: http}
  - {name: https, port: 443, protocol: TCP, targetPort: https, appProtocol: https}
status:
  loadBalancer:
    ingress:
    - ip: ${loadBalancerIP}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ingress-nginx-controller
  namespace: ingress-nginx
  labels:
${labels(INGRESS_NGINX_LABELS, "    ")}
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
${labels(INGRESS_NGINX_LABELS, "      ")}
  template:
    metadata:
      labels:
${labels(INGRESS_NGINX_LABELS, "        ")}
    spec:
      containers:
      - name: controller
        image: registry.k8s.io/ingress-nginx/controller:v1.12.1
        args: [/nginx-ingress-controller, --publish-service=$(POD_NAMESPACE)/ingress-nginx-controller, --election-id=ingress-nginx-leader, --controller-class=k8s.io/ingress-nginx, --ingress-class=nginx]
        ports:
        - {name: http, containerPort: 80, protocol: TCP}
        - {name: https, containerPort: 443, protocol: TCP}
        - {name: webhook, containerPort: 8443, protocol: TCP}
`;
}

/** The labels of a Gateway's pods (Envoy Gateway and others label them with the Gateway's name). */
export const gatewayLabels = (namespace: string, name: string): Record<string, string> => ({
  "gateway.networking.k8s.io/gateway-name": name,
  "gateway.networking.k8s.io/gateway-namespace": namespace,
});

/** A Gateway's data plane: Deployment and LoadBalancer Service `<name>-gateway`, one port per listener. */
export function gatewayManifest(namespace: string, name: string, ports: readonly { name: string; port: number }[], loadBalancerIP: string): string {
  const l = gatewayLabels(namespace, name);
  const svcPorts = ports.map((p) => `  - {name: ${p.name}, port: ${p.port}, protocol: TCP, targetPort: ${p.port}}`).join("\n");
  const ctrPorts = ports.map((p) => `        - {name: ${p.name}, containerPort: ${p.port}, protocol: TCP}`).join("\n");
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}-gateway
  namespace: ${namespace}
  labels:
${labels(l, "    ")}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector:
${labels(l, "    ")}
  ports:
${svcPorts}
status:
  loadBalancer:
    ingress:
    - ip: ${loadBalancerIP}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}-gateway
  namespace: ${namespace}
  labels:
${labels(l, "    ")}
spec:
  replicas: 1
  selector:
    matchLabels:
${labels(l, "      ")}
  template:
    metadata:
      labels:
${labels(l, "        ")}
    spec:
      containers:
      - name: proxy
        image: kubewire/l7-proxy
        ports:
${ctrPorts}
`;
}
