// The public surface of kubewire's TCP (re-exported by src/net/index.ts): sockets and servers
// shaped like node:net's, the settle driver, the kernel-side views for tests and dumps, and the
// socket calls themselves for users that run on the virtual clock alone (scenario apps and steps).

export {
  type TcpConnectSpec,
  tcpAbort,
  tcpAccept,
  tcpClose,
  tcpConnect,
  tcpDestroy,
  tcpDump,
  tcpInit,
  tcpListen,
  tcpRecvmsg,
  tcpSendmsg,
  tcpShutdown,
  tcpUnlisten,
} from "./tcp.js";
export { createTcpServer, type TcpListenOptions, TcpServer, type TcpServerOptions } from "./tcp-server.js";
export { runUntilSettled, type SettleOptions } from "./tcp-settle.js";
export { TcpEvent, TcpSock, TcpState, type TcpSysctls, type TcpUser, tcpStateName } from "./tcp-sock.js";
export { createTcpConnection, type TcpConnectOptions, TcpSocket, TcpSocketError } from "./tcp-socket.js";
export { TcpListener, type TcpTable, tcpTable } from "./tcp-table.js";
