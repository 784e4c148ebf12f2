// Drives the stock socket.io-client (the one RetroChat's browsers run) against a RetroChat server
// for tests/e2e/test_node_client_e2e.py. One JSON argument:
//   {"url", "transports", "headers", "auth", "userId", "scenario"?: "reconnect"}
// Prints one JSON object per line: connect / event / ack / connect_error / disconnect / done / error.
// Binary values are printed as {"$bytes": "<hex>"}.
import { io } from "socket.io-client";

const cfg = JSON.parse(process.argv[2]);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function enc(value) {
  if (value instanceof ArrayBuffer) return { $bytes: Buffer.from(value).toString("hex") };
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return { $bytes: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(enc);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, enc(v)]));
  }
  return value;
}

const socket = io(cfg.url, {
  transports: cfg.transports,
  extraHeaders: cfg.headers || {},
  auth: cfg.auth || undefined,
  // The "reconnect" scenario uses the frontend's settings: built-in reconnection, 1 s delay.
  reconnection: cfg.scenario === "reconnect",
  reconnectionDelay: 200,
  reconnectionDelayMax: 500,
  timeout: 5000,
  forceNew: true,
});

const ack = (event, ...args) =>
  new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (err, ...res) => (err ? reject(err) : resolve(res)));
  });

const finish = (code) => {
  socket.disconnect();
  setTimeout(() => process.exit(code), 50);
};

setTimeout(() => {
  out({ type: "error", message: "scenario timed out" });
  process.exit(3);
}, 15000);

socket.onAny((event, ...args) => out({ type: "event", event, args: enc(args) }));
socket.on("connect_error", (err) => {
  out({ type: "connect_error", message: err.message, data: err.data ?? null });
  finish(1);
});
socket.on("disconnect", (reason) => out({ type: "disconnect", reason }));
socket.on("e2e:question", (payload, callback) => callback({ fromNode: payload.q + 1 }));

let connects = 0;
socket.on("connect", async () => {
  connects += 1;
  out({ type: "connect", id: socket.id, transport: socket.io.engine.transport.name });
  if (cfg.scenario === "reconnect") {
    if (connects === 1) {
      socket.emit("e2e:drop-transport"); // the server drops the transport; the client must come back
    } else {
      out({ type: "ack", name: "whoami", args: enc(await ack("e2e:whoami")) });
      out({ type: "done", transport: socket.io.engine.transport.name });
      finish(0);
    }
    return;
  }
  try {
    socket.emit("e2e:echo", { hello: "world" }); // without ack
    out({ type: "ack", name: "whoami", args: enc(await ack("e2e:whoami")) });
    out({ type: "ack", name: "echo", args: enc(await ack("e2e:echo", 1, "two", { three: [3] })) });
    out({ type: "ack", name: "binary", args: enc(await ack("e2e:binary", Buffer.from([0, 1, 2, 255]))) });
    const push = { userIds: [cfg.userId], event: "e2e:pushed", data: { n: 7 } };
    out({ type: "ack", name: "push", args: enc(await ack("e2e:emit-to-users", push)) });
    out({ type: "ack", name: "call", args: enc(await ack("e2e:call", { q: 41 })) });
    if (cfg.expectUpgrade) {
      for (let i = 0; i < 50 && socket.io.engine.transport.name !== "websocket"; i++) await sleep(20);
    }
    await sleep(200);
    out({ type: "done", transport: socket.io.engine.transport.name });
    finish(0);
  } catch (err) {
    out({ type: "error", message: String(err) });
    finish(2);
  }
});
