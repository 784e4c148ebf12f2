// Reference server: the Node socket.io server with RetroChat's events, in memory.
//
//   BENCH_FIXTURE=bench/var/fixture.json node bench/peers/node_server.mjs --port 3301
//   # two processes behind Redis: BENCH_REDIS_URL=redis://127.0.0.1:6379/0 on each
//
// Same events, payloads and authentication as bench/peers/pysio_server.py (see its docstring).
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "socket.io";

const args = process.argv.slice(2);
const port = Number(args[args.indexOf("--port") + 1] || 3301);
const fixture = JSON.parse(readFileSync(process.env.BENCH_FIXTURE || "bench/var/fixture.json", "utf8"));
const userOfToken = new Map(fixture.users.map((u) => [u.token, u.id]));
const friends = new Map(Object.entries(fixture.friends).map(([id, list]) => [id, new Set(list)]));
const groupId = fixture.group.id;
const groupMembers = fixture.group.members;
const senderCard = new Map(
  groupMembers.map((id) => [id, { id, username: id.replace("-", ""), displayName: id, profilePictureUrl: null }]),
);
const online = new Map(); // user id -> sockets in this process
const room = (id) => `user.${id}`;

const httpServer = createServer();
const io = new Server(httpServer, { cors: { origin: true, credentials: true }, transports: ["websocket", "polling"] });

if (process.env.BENCH_REDIS_URL) {
  const { createClient } = await import("redis");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const pub = createClient({ url: process.env.BENCH_REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub, { key: "bench-node" }));
}

io.use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  const userId = typeof token === "string" ? userOfToken.get(token) : undefined;
  if (!userId) return next(new Error("Unauthorized"));
  socket.data.userId = userId;
  next();
});

io.on("connection", (socket) => {
  const userId = socket.data.userId;
  socket.join(room(userId));
  const mine = friends.get(userId) || new Set();
  const count = online.get(userId) || 0;
  online.set(userId, count + 1);
  if (count === 0) {
    for (const f of mine) io.to(room(f)).emit("user:status", { userId, status: "online" });
  }
  const statuses = [...mine].map((f) => ({ userId: f, status: online.get(f) ? "online" : "offline" }));
  socket.emit("user:status-batch", { statuses });

  socket.on("disconnect", () => {
    const left = (online.get(userId) || 1) - 1;
    if (left <= 0) {
      online.delete(userId);
      for (const f of mine) io.to(room(f)).emit("user:status", { userId, status: "offline" });
    } else online.set(userId, left);
  });

  socket.on("message:send", (data, ack) => {
    const reply = typeof ack === "function" ? ack : () => {};
    const to = data && data.toUserId;
    const content = data && typeof data.content === "string" ? data.content.trim() : "";
    if (!content) return reply({ error: { code: "bad_request", message: "Message content cannot be empty" } });
    if (!mine.has(to)) return reply({ error: { code: "forbidden", message: "You can only send messages to your friends" } });
    const message = {
      id: randomUUID(), fromUserId: userId, toUserId: to, content,
      timestamp: new Date().toISOString(), isRead: false, isAIGenerated: false,
    };
    io.to(room(to)).emit("message:receive", message);
    io.to(room(userId)).emit("message:sent", message);
    reply(message);
  });

  socket.on("group:message:send", (data, ack) => {
    const reply = typeof ack === "function" ? ack : () => {};
    const content = data && typeof data.content === "string" ? data.content.trim() : "";
    if (!data || data.groupId !== groupId || !senderCard.has(userId))
      return reply({ error: { code: "forbidden", message: "You are not a member of this group" } });
    if (!content) return reply({ error: { code: "bad_request", message: "Message content cannot be empty" } });
    const message = {
      id: randomUUID(), groupId, fromUserId: userId, content, timestamp: new Date().toISOString(),
      isAIGenerated: false, mentionedUserIds: [], fromUser: senderCard.get(userId),
    };
    io.to(groupMembers.filter((m) => m !== userId).map(room)).emit("group:message:receive", message);
    io.to(room(userId)).emit("group:message:sent", message);
    reply(message);
  });

  socket.on("user:check-status", (data, ack) => {
    const reply = typeof ack === "function" ? ack : () => {};
    const wanted = data && Array.isArray(data.userIds) ? data.userIds : null;
    if (!wanted) return reply({ error: { code: "bad_request", message: "userIds must be an array" } });
    const batch = {
      statuses: wanted.map((id) => ({ userId: id, status: mine.has(id) && online.get(id) ? "online" : "offline" })),
    };
    socket.emit("user:status-batch", batch);
    reply(batch);
  });
});

httpServer.listen(port, "127.0.0.1", () => console.log(`node socket.io peer on 127.0.0.1:${port}`));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
