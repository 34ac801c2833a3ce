// A representative kube-proxy ruleset (iptables mode, Kubernetes 1.29+), written the way
// kube-proxy's proxier writes it to `iptables-restore --noflush` (pkg/proxy/iptables/proxier.go:
// its option order, `-m tcp -p tcp -d VIP --dport P`, unmasked hosts, 10-decimal probabilities,
// `--or-mark` / `--xor-mark`), plus the built-in chain jumps it adds with `iptables -I` and
// kubelet's KUBE-FIREWALL. Services:
//   default/kubernetes:https   ClusterIP 10.96.0.1:443/tcp, 1 endpoint (the API server)
//   kube-system/kube-dns:dns   ClusterIP 10.96.0.10:53/udp, 3 endpoints (1/3, 1/2, rest)
//   kube-system/kube-dns:dns-tcp, :metrics   the same endpoints over tcp
//   default/web:http           NodePort 30080, 2 endpoints, sessionAffinity ClientIP
//   default/lb:http            LoadBalancer 203.0.113.10 with loadBalancerSourceRanges, externalIP
//   default/noep:http          ClusterIP without endpoints (REJECT)
// Cluster CIDR 10.244.0.0/16, node IP 192.168.0.10.

export const KUBE_PROXY_RULES = `*filter
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-KUBELET-CANARY - [0:0]
:KUBE-PROXY-CANARY - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-NODEPORTS -m comment --comment "default/lb:http health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT
-A KUBE-SERVICES -m comment --comment "default/noep:http has no endpoints" -m tcp -p tcp -d 10.96.0.50 --dport 80 -j REJECT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "default/noep:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30050 -j REJECT
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-PROXY-FIREWALL -m comment --comment "default/lb:http traffic not accepted by KUBE-FW-LBAAAAAAAAAAAAAA" -m tcp -p tcp -d 203.0.113.10 --dport 80 -j DROP
COMMIT
*nat
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-KUBELET-CANARY - [0:0]
:KUBE-PROXY-CANARY - [0:0]
:KUBE-SVC-NPX46M4PTMTKRN6Y - [0:0]
:KUBE-SEP-VOCRBNOQZQYCYMMK - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-IT2ZTR26TO4XFPTO - [0:0]
:KUBE-SEP-N4G2XR5TDX7PQE7P - [0:0]
:KUBE-SEP-YIL6JZP7A3QYXJU2 - [0:0]
:KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
:KUBE-SEP-ZP3FB6NMPNCO4VBJ - [0:0]
:KUBE-SEP-ZXMNUKOKXUTL2MK2 - [0:0]
:KUBE-SEP-6E7XQMQ4RAYOWTTM - [0:0]
:KUBE-SVC-JD5MR3NA4I4DYORP - [0:0]
:KUBE-SEP-M6ZVXMCCJBLLEWPK - [0:0]
:KUBE-SEP-AJDJL7BQXDNOKYYS - [0:0]
:KUBE-SEP-OL3V7H5NNMJBI7TA - [0:0]
:KUBE-SVC-WEBXXXXXXXXXXXXX - [0:0]
:KUBE-SEP-WEBAAAAAAAAAAAA1 - [0:0]
:KUBE-SEP-WEBAAAAAAAAAAAA2 - [0:0]
:KUBE-EXT-WEBXXXXXXXXXXXXX - [0:0]
:KUBE-SVC-LBXXXXXXXXXXXXXX - [0:0]
:KUBE-SEP-LBAAAAAAAAAAAAA1 - [0:0]
:KUBE-EXT-LBXXXXXXXXXXXXXX - [0:0]
:KUBE-FW-LBAAAAAAAAAAAAAA - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-NODEPORTS -m comment --comment default/web:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-WEBXXXXXXXXXXXXX
-A KUBE-NODEPORTS -m comment --comment default/lb:http -m tcp -p tcp --dport 31080 -j KUBE-EXT-LBXXXXXXXXXXXXXX
-A KUBE-SERVICES -m comment --comment "default/kubernetes:https cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP
-A KUBE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 -j KUBE-SVC-WEBXXXXXXXXXXXXX
-A KUBE-SERVICES -m comment --comment "default/lb:http cluster IP" -m tcp -p tcp -d 10.96.0.30 --dport 80 -j KUBE-SVC-LBXXXXXXXXXXXXXX
-A KUBE-SERVICES -m comment --comment "default/lb:http external IP" -m tcp -p tcp -d 198.51.100.7 --dport 80 -j KUBE-EXT-LBXXXXXXXXXXXXXX
-A KUBE-SERVICES -m comment --comment "default/lb:http loadbalancer IP" -m tcp -p tcp -d 203.0.113.10 --dport 80 -j KUBE-FW-LBAAAAAAAAAAAAAA
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment "default/kubernetes:https cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 443 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment "default/kubernetes:https -> 192.168.0.10:6443" -j KUBE-SEP-VOCRBNOQZQYCYMMK
-A KUBE-SEP-VOCRBNOQZQYCYMMK -m comment --comment default/kubernetes:https -s 192.168.0.10 -j KUBE-MARK-MASQ
-A KUBE-SEP-VOCRBNOQZQYCYMMK -m comment --comment default/kubernetes:https -m tcp -p tcp -j DNAT --to-destination 192.168.0.10:6443
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.1.5:53" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-IT2ZTR26TO4XFPTO
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.2.5:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-N4G2XR5TDX7PQE7P
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.3.5:53" -j KUBE-SEP-YIL6JZP7A3QYXJU2
-A KUBE-SEP-IT2ZTR26TO4XFPTO -m comment --comment kube-system/kube-dns:dns -s 10.244.1.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-IT2ZTR26TO4XFPTO -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.5:53
-A KUBE-SEP-N4G2XR5TDX7PQE7P -m comment --comment kube-system/kube-dns:dns -s 10.244.2.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-N4G2XR5TDX7PQE7P -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.2.5:53
-A KUBE-SEP-YIL6JZP7A3QYXJU2 -m comment --comment kube-system/kube-dns:dns -s 10.244.3.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-YIL6JZP7A3QYXJU2 -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.3.5:53
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.1.5:53" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-ZP3FB6NMPNCO4VBJ
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.2.5:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-ZXMNUKOKXUTL2MK2
-A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.3.5:53" -j KUBE-SEP-6E7XQMQ4RAYOWTTM
-A KUBE-SEP-ZP3FB6NMPNCO4VBJ -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.1.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-ZP3FB6NMPNCO4VBJ -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:53
-A KUBE-SEP-ZXMNUKOKXUTL2MK2 -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.2.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-ZXMNUKOKXUTL2MK2 -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.2.5:53
-A KUBE-SEP-6E7XQMQ4RAYOWTTM -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.3.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-6E7XQMQ4RAYOWTTM -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.3.5:53
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 9153 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.1.5:9153" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-M6ZVXMCCJBLLEWPK
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.2.5:9153" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-AJDJL7BQXDNOKYYS
-A KUBE-SVC-JD5MR3NA4I4DYORP -m comment --comment "kube-system/kube-dns:metrics -> 10.244.3.5:9153" -j KUBE-SEP-OL3V7H5NNMJBI7TA
-A KUBE-SEP-M6ZVXMCCJBLLEWPK -m comment --comment kube-system/kube-dns:metrics -s 10.244.1.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-M6ZVXMCCJBLLEWPK -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:9153
-A KUBE-SEP-AJDJL7BQXDNOKYYS -m comment --comment kube-system/kube-dns:metrics -s 10.244.2.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-AJDJL7BQXDNOKYYS -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.2.5:9153
-A KUBE-SEP-OL3V7H5NNMJBI7TA -m comment --comment kube-system/kube-dns:metrics -s 10.244.3.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-OL3V7H5NNMJBI7TA -m comment --comment kube-system/kube-dns:metrics -m tcp -p tcp -j DNAT --to-destination 10.244.3.5:9153
-A KUBE-EXT-WEBXXXXXXXXXXXXX -m comment --comment "masquerade traffic for default/web:http external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-WEBXXXXXXXXXXXXX -j KUBE-SVC-WEBXXXXXXXXXXXXX
-A KUBE-SVC-WEBXXXXXXXXXXXXX -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-WEBXXXXXXXXXXXXX -m comment --comment "default/web:http -> 10.244.1.7:8080" -m recent --name KUBE-SEP-WEBAAAAAAAAAAAA1 --rcheck --seconds 10800 --reap -j KUBE-SEP-WEBAAAAAAAAAAAA1
-A KUBE-SVC-WEBXXXXXXXXXXXXX -m comment --comment "default/web:http -> 10.244.2.7:8080" -m recent --name KUBE-SEP-WEBAAAAAAAAAAAA2 --rcheck --seconds 10800 --reap -j KUBE-SEP-WEBAAAAAAAAAAAA2
-A KUBE-SVC-WEBXXXXXXXXXXXXX -m comment --comment "default/web:http -> 10.244.1.7:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-WEBAAAAAAAAAAAA1
-A KUBE-SVC-WEBXXXXXXXXXXXXX -m comment --comment "default/web:http -> 10.244.2.7:8080" -j KUBE-SEP-WEBAAAAAAAAAAAA2
-A KUBE-SEP-WEBAAAAAAAAAAAA1 -m comment --comment default/web:http -s 10.244.1.7 -j KUBE-MARK-MASQ
-A KUBE-SEP-WEBAAAAAAAAAAAA1 -m comment --comment default/web:http -m recent --name KUBE-SEP-WEBAAAAAAAAAAAA1 --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.7:8080
-A KUBE-SEP-WEBAAAAAAAAAAAA2 -m comment --comment default/web:http -s 10.244.2.7 -j KUBE-MARK-MASQ
-A KUBE-SEP-WEBAAAAAAAAAAAA2 -m comment --comment default/web:http -m recent --name KUBE-SEP-WEBAAAAAAAAAAAA2 --set -m tcp -p tcp -j DNAT --to-destination 10.244.2.7:8080
-A KUBE-EXT-LBXXXXXXXXXXXXXX -m comment --comment "masquerade traffic for default/lb:http external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-LBXXXXXXXXXXXXXX -j KUBE-SVC-LBXXXXXXXXXXXXXX
-A KUBE-FW-LBAAAAAAAAAAAAAA -m comment --comment "default/lb:http loadbalancer IP" -s 198.51.100.0/24 -j KUBE-EXT-LBXXXXXXXXXXXXXX
-A KUBE-FW-LBAAAAAAAAAAAAAA -m comment --comment "other traffic to default/lb:http will be dropped by KUBE-PROXY-FIREWALL"
-A KUBE-SVC-LBXXXXXXXXXXXXXX -m comment --comment "default/lb:http cluster IP" -m tcp -p tcp -d 10.96.0.30 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-LBXXXXXXXXXXXXXX -m comment --comment "default/lb:http -> 10.244.2.9:8080" -j KUBE-SEP-LBAAAAAAAAAAAAA1
-A KUBE-SEP-LBAAAAAAAAAAAAA1 -m comment --comment default/lb:http -s 10.244.2.9 -j KUBE-MARK-MASQ
-A KUBE-SEP-LBAAAAAAAAAAAAA1 -m comment --comment default/lb:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.9:8080
COMMIT
`;

/**
 * Everything else iptables-save has a canonical form for, gathered while checking kubewire
 * against iptables v1.8.9 (nf_tables): option aliases and orders, negations, masks, ports,
 * protocol names, MARK's five spellings, statistic, recent, NAT ranges, LOG, -I positions.
 */
export const EDGE_RULES = `*mangle
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -i eth+ -p tcp -m tcp --tcp-flags SYN,RST SYN -j MARK --set-mark 0x1/0x10
-A PREROUTING ! -i cni0 -j MARK --and-mark 0xff
-A OUTPUT -o lo -j MARK --set-xmark 0xffffffff
-A OUTPUT -j MARK --set-mark 7
COMMIT
*raw
:PREROUTING ACCEPT [0:0]
-A PREROUTING -s 10.1.2.3/255.255.0.0 -j ACCEPT
-A PREROUTING -d 0.0.0.0/0 -j ACCEPT
-A PREROUTING -p all -j ACCEPT
-A PREROUTING -p 47 -j ACCEPT
-A PREROUTING -p UDP -j ACCEPT
-A PREROUTING ! -p udp -j ACCEPT
-A PREROUTING -f -j ACCEPT
-A PREROUTING ! -f -j ACCEPT
-A PREROUTING -s 10.0.0.1,10.0.0.2 -d 10.0.1.0/24,10.0.2.0/24 -j ACCEPT
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:X - [0:0]
:Y - [0:0]
-A X -p tcp -m tcp --sport 1:100 ! --dport 53 -j ACCEPT
-A X -p tcp -m tcp --dport 1: -j ACCEPT
-A X -p tcp -m tcp --dport :100 -j ACCEPT
-A X -p tcp -m tcp --dport 100:100 -j ACCEPT
-A X -p tcp -m tcp --dport 0:65535 -j ACCEPT
-A X -p tcp -m tcp --dport http -j ACCEPT
-A X -p tcp --dport 80 -j ACCEPT
-A X -p tcp --destination-port 8080 --source-port 1024:65535 -j ACCEPT
-A X -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,PSH,ACK,URG SYN -j ACCEPT
-A X -p tcp -m tcp --syn -j ACCEPT
-A X -p tcp -m tcp --tcp-flags ALL NONE -j ACCEPT
-A X -p tcp -m tcp --dport 80 --tcp-flags SYN SYN --sport 5 -j ACCEPT
-A X -p tcp -m multiport --dports 53,80:90,443 -j ACCEPT
-A X -p udp -m multiport ! --sports 53 -j ACCEPT
-A X -p udp -m multiport --ports 53 -j ACCEPT
-A X -p icmp -m icmp --icmp-type echo-request -j ACCEPT
-A X -p icmp -m icmp --icmp-type 3/3 -j ACCEPT
-A X -p icmp -m icmp ! --icmp-type any -j ACCEPT
-A X -p icmp --icmp-type port-unreachable -j ACCEPT
-A X -m addrtype ! --src-type LOCAL --dst-type LOCAL,BROADCAST --limit-iface-in -j ACCEPT
-A X -m addrtype --dst-type UNICAST,LOCAL,BROADCAST,ANYCAST,MULTICAST,BLACKHOLE,UNREACHABLE,PROHIBIT,THROW,NAT,XRESOLVE,UNSPEC -j ACCEPT
-A X -m mark --mark 16 -j LOG --log-level 6
-A X -m mark --mark 0x0/0x0 -j LOG --log-prefix "kw: " --log-level warning
-A X -j LOG --log-level debug --log-prefix x --log-uid
-A X -j LOG --log-prefix "0123456789012345678901234567890"
-A X -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A X -m conntrack ! --ctstate NEW,INVALID,SNAT,DNAT,UNTRACKED -j ACCEPT
-A X -m statistic --mode random --probability 0.25 -j ACCEPT
-A X -m statistic --mode random --probability 0.1 -j ACCEPT
-A X -m statistic --mode random ! --probability 0.2 -j ACCEPT
-A X -m statistic --mode random --probability 1 -j ACCEPT
-A X -m statistic --mode random --probability 0 -j ACCEPT
-A X -m statistic --mode nth --every 3 --packet 1 -j ACCEPT
-A X -m statistic --mode nth ! --every 3 --packet 0 -j ACCEPT
-A X -m recent --set
-A X -m recent --update --seconds 60 --hitcount 3 --rttl --name foo --rdest
-A X -m recent ! --rcheck --name foo --mask 255.255.0.0
-A X -m recent --remove --name foo
-A X -m comment --comment simple_word-1 -j ACCEPT
-A X -m comment --comment "" -j ACCEPT
-A X -m comment --comment "a \\"quoted\\" it's \\\\ back" -j ACCEPT
-A X -j ACCEPT -m comment --comment after
-A X -m comment --comment x -m comment --comment y
-A X -p tcp -m tcp -m comment --comment x --dport 80 -j ACCEPT
-A X -m comment --comment x -p tcp --dport 80 -j ACCEPT
-A X -p tcp -j REJECT --reject-with tcp-reset
-A X -j REJECT --reject-with icmp-net-unreachable
-A X -j REJECT --reject-with host-unreach
-A X -j REJECT --reject-with icmp-proto-unreachable
-A X -j REJECT --reject-with icmp-net-prohibited
-A X -j REJECT --reject-with icmp-host-prohibited
-A X -j REJECT --reject-with icmp-admin-prohibited
-A X -g Y
-A X -j RETURN
-A X
-I X -j ACCEPT
-I X 3 -j DROP
-A INPUT -i lo -j X
-A OUTPUT ! -o lo -j X
-A FORWARD -o eth0 ! -i eth1 -j X
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:D - [0:0]
:S - [0:0]
-A PREROUTING -j D
-A POSTROUTING -j S
-A D -j DNAT --to-destination 10.0.0.1
-A D -j DNAT --to-destination 10.0.0.1-10.0.0.1
-A D -p tcp -j DNAT --to-destination 10.0.0.1-10.0.0.5:80-90 --random --persistent
-A D -p udp -j DNAT --to-destination :53
-A D -p tcp -j DNAT --to-destination 10.0.0.1:80-80
-A S -j SNAT --to-source 1.2.3.4 --random-fully --persistent
-A S -j SNAT --to-source 1.2.3.4-1.2.3.9 --random
-A S -p tcp -j MASQUERADE --to-ports 1000-2000 --random
-A S -p udp -j MASQUERADE --to-ports 1000
-A S -j MASQUERADE --random --random-fully
-A S -j MARK --set-xmark 0x4000/0x0
COMMIT
`;
