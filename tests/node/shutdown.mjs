// The stock socket.io-client (what RetroChat's browsers run) through a worker's graceful shutdown,
// for tests/e2e/test_ops_shutdown.py. One JSON argument:
//   {"url", "transports", "headers", "toUserId", "tag", "count", "pauseMs"}
// Sends `count` direct messages (message:send, clientMessageId `${tag}-${i}`), one at a time, each
// waiting for its ack (3 s). When the connection goes away the client reconnects by itself (its own
// reconnection, as in the browser) and then sends every message not acknowledged yet, with the same
// clientMessageId. Prints one JSON object per line:
//   {"type": "connect", "n", "transport"}          {"type": "disconnect", "reason"}
//   {"type": "ack", "cmid", "id", "n"}             {"type": "refused", "cmid", "code", "n"}
//   {"type": "lost", "cmid", "error", "n"}         {"type": "done", "acked"} / {"type": "error", "message"}
// ("n" is the connection the outcome happened on: 1 before the shutdown, 2 after.)
import { io } from "socket.io-client";

const cfg = JSON.parse(process.argv[2]);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const socket = io(cfg.url, {
  transports: cfg.transports,
  extraHeaders: cfg.headers || {},
  reconnection: true,
  reconnectionDelay: 200,
  reconnectionDelayMax: 500,
  timeout: 5000,
  forceNew: true,
});

setTimeout(() => {
  out({ type: "error", message: "scenario timed out" });
  process.exit(3);
}, 40000);

const acked = new Set();
let connects = 0;
let running = false;

async function sendAll() {
  if (running) return;
  running = true;
  const n = connects;
  for (let i = 0; i < cfg.count; i++) {
    const cmid = `${cfg.tag}-${i}`;
    if (acked.has(cmid)) continue;
    if (!socket.connected || connects !== n) break;
    try {
      const ack = await socket
        .timeout(3000)
        .emitWithAck("message:send", { toUserId: cfg.toUserId, content: `message ${i}`, clientMessageId: cmid });
      if (ack && ack.error) {
        out({ type: "refused", cmid, code: ack.error.code, n });
      } else {
        acked.add(cmid);
        out({ type: "ack", cmid, id: ack.id, n });
      }
    } catch (err) {
      out({ type: "lost", cmid, error: String(err), n });
    }
    await sleep(cfg.pauseMs ?? 20);
  }
  running = false;
  if (acked.size === cfg.count) {
    out({ type: "done", acked: acked.size });
    socket.disconnect();
    setTimeout(() => process.exit(0), 50);
  }
}

socket.on("disconnect", (reason) => out({ type: "disconnect", reason }));
socket.on("connect_error", (err) => out({ type: "connect_error", message: err.message }));
socket.on("connect", () => {
  connects += 1;
  out({ type: "connect", n: connects, transport: socket.io.engine.transport.name });
  // After a reconnect, wait for the loop of the old connection to notice, then resend.
  const start = () => (running ? setTimeout(start, 20) : sendAll());
  start();
});
