// The typed clients against small scripted servers: authentication, requests correlated the
// protocol's way, streams, sessions, subscriptions, timeouts, invalid frames, reconnection.
// (reference.test.mjs holds the conversations with the reference servers.)

import assert from "node:assert/strict";
import { test } from "node:test";

import WebSocket from "ws";

import { importProtocol, importRoot } from "./lib/package.mjs";
import { scripted } from "./lib/servers.mjs";

const NOW = "2024-01-01T10:00:00Z";

/** Runs `body` with a scripted server and a client class, closing both afterwards. */
async function withServer(script, body) {
  const server = await scripted(script);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

test("datagram: requests are correlated by cid, the session id is learnt and filled in", async () => {
  const { Client } = await importProtocol("datagram");
  await withServer(
    (socket) => {
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data));
        if (frame.msg === "ping") {
          // Answer out of order: a second ping's pong first would still find its request.
          socket.json({ msg: "ping", cid: frame.cid, content: null });
        } else if (frame.msg === "session") {
          const content =
            frame.content.request === "create"
              ? { success: true, error: null, session_id: "s-1" }
              : { success: true, error: null, status: "idle", settings: { model: "m", temperature: 0.5, seed: 1 }, echo: frame.content.session_id };
          socket.json({ msg: "session", cid: frame.cid, content });
        } else if (frame.msg === "chat") {
          socket.json({
            msg: "chat",
            cid: frame.cid,
            content: { success: true, error: false, sender: "bot", bot: true, type: "text", data: frame.content.data },
          });
        }
      });
    },
    async (server) => {
      const client = new Client({ url: server.origin, WebSocket });
      await client.connect();
      // A chat needs a session: refused before one exists, without sending anything.
      await assert.rejects(client.chatRequest({ content: { type: "text", data: "aGk=" } }), { name: "SessionError" });
      const [a, b] = await Promise.all([client.ping(), client.ping({ cid: "mine" })]);
      assert.equal(b.cid, "mine");
      assert.match(a.cid, /^[0-9a-f]{32}$/);
      const created = await client.sessionCreate({ content: { settings: { model: "m", temperature: 0.5, seed: 7 } } });
      assert.equal(created.content.session_id, "s-1");
      assert.equal(client.session, "s-1");
      const status = await client.sessionStatus();
      assert.equal(status.content.status, "idle");
      assert.equal(status.content.echo, "s-1", "the session id is filled in from the session");
      const chat = await client.chatRequest({ content: { type: "text", data: "aGk=" } });
      assert.equal(chat.content.data, "aGk=");
      const sent = server.connections[0];
      assert.ok(sent);
      await client.close();
    },
  );
});

test("generalbots: token in the query, session announced, streamed reply as an async iterator", async () => {
  const { Client } = await importProtocol("generalbots");
  await withServer(
    (socket, request) => {
      const token = new URL(request.url, "ws://x").searchParams.get("token");
      if (token !== "secret") {
        socket.json({ type: "error", code: "AUTH_FAILED", message: "Invalid or expired token" });
        socket.close(1008);
        return;
      }
      socket.json({ type: "session_created", session_id: "s-9" });
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data));
        if (frame.type === "ping") socket.json({ type: "pong", timestamp: NOW });
        if (frame.type === "message") {
          const id = "m-1";
          socket.json({ type: "stream_start", session_id: frame.session_id, message_id: id });
          const words = frame.content.split(" ").map((w, i, all) => (i < all.length - 1 ? `${w} ` : w));
          for (const word of words) socket.json({ type: "stream_chunk", message_id: id, content: word });
          socket.json({ type: "stream_end", message_id: id, content: words.join("") });
        }
      });
    },
    async (server) => {
      const client = new Client({ url: server.origin, token: "secret", WebSocket });
      const announced = client.next("session_created");
      await client.connect();
      assert.equal((await announced).session_id, "s-9");
      const pong = await client.ping();
      assert.equal(pong.type, "pong");
      const reply = client.chatMessage({ content: "hello streaming world" });
      const chunks = [];
      let full;
      for await (const event of reply) {
        if (event.kind === "chunk") chunks.push(event.text);
        if (event.kind === "end") full = event.text;
      }
      assert.deepEqual(chunks, ["hello ", "streaming ", "world"]);
      assert.equal(full, "hello streaming world");
      const result = await reply.result;
      assert.equal(result.kind, "stream");
      assert.equal(result.start.session_id, "s-9", "the session id was filled in");
      assert.equal(result.chunks.length, 3);
      await client.close();
    },
  );
});

test("generalbots: first-message authentication sends the auth message before anything else", async () => {
  const { Client } = await importProtocol("generalbots");
  let first;
  await withServer(
    (socket) => {
      socket.once("message", (data) => {
        first = JSON.parse(String(data));
        socket.json({ type: "session_created", session_id: "s-2" });
        socket.on("message", () => socket.json({ type: "pong", timestamp: NOW }));
      });
    },
    async (server) => {
      const client = new Client({ url: server.origin, token: "tok", authVia: "first_message", WebSocket });
      await client.connect();
      await client.ping();
      assert.deepEqual(first, { type: "auth", token: "tok" });
      await client.close();
    },
  );
});

test("socializer: path parameter, cookie authentication, welcome and reply", async () => {
  const { Client } = await importProtocol("socializer");
  let seen;
  await withServer(
    (socket, request) => {
      seen = { url: request.url, cookie: request.headers.cookie };
      socket.json({ type: "system", message: "Welcome!", timestamp: "2025-10-01T20:00:00.000000" });
      socket.on("message", (data) => {
        const { content } = JSON.parse(String(data));
        socket.json({ type: "ai_response", message: `echo: ${content}`, timestamp: "2025-10-01T20:00:01" });
      });
    },
    async (server) => {
      const client = new Client({
        url: server.origin,
        token: "a.b.c",
        authVia: "cookie",
        params: { client_id: "client-42" },
        WebSocket,
      });
      const welcome = client.next("system_message");
      await client.connect();
      assert.equal((await welcome).message, "Welcome!");
      const reply = await client.chatMessage({ content: "hi" });
      assert.equal(reply.type, "ai_response");
      assert.equal(reply.message, "echo: hi");
      assert.equal(seen.url, "/ws/ai/ai-chat/client-42");
      assert.equal(seen.cookie, "access_token=a.b.c");
      await client.close();
    },
  );
});

test("rixa: replies without correlation answer requests in order; statuses are replies too", async () => {
  const { Client } = await importProtocol("rixa");
  await withServer(
    (socket) => {
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data));
        if (frame.type === "get_chat_modes") socket.json({ role: "chat_modes", content: ["default"] });
        else socket.json({ type: "status", level: "error", content: `cannot ${frame.type}` });
      });
    },
    async (server) => {
      const client = new Client({ url: server.origin, WebSocket });
      await client.connect();
      const [modes, failed] = await Promise.all([
        client.getChatModes(),
        client.changeSetting({ setting: "selected_chat_mode", value: "x" }),
      ]);
      assert.equal(modes.role, "chat_modes");
      assert.equal(failed.type, "status");
      await client.close();
    },
  );
});

test("generalbots-meet: messages without replies are sent; relayed messages reach subscribers", async () => {
  const { Client } = await importProtocol("generalbots-meet");
  await withServer(
    (socket, _request, server) => {
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data));
        for (const other of server.clients) {
          if (other !== socket) other.send(JSON.stringify({ ...frame, participant_id: "p-1" }));
        }
      });
    },
    async (server) => {
      const alice = new Client({ url: server.origin, WebSocket });
      const bob = new Client({ url: server.origin, WebSocket });
      await alice.connect();
      await bob.connect();
      const joined = new Promise((resolve) => bob.onJoinNotice(resolve));
      await alice.join({ room_id: "r", participant_name: "Alice" });
      const notice = await joined;
      assert.equal(notice.participant_name, "Alice");
      assert.equal(notice.participant_id, "p-1");
      await alice.close();
      await bob.close();
    },
  );
});

test("a frame that fails the guards is an error naming the field, and fails the request awaiting it", async () => {
  const { Client } = await importProtocol("generalbots");
  const { FrameError } = await importRoot();
  await withServer(
    (socket) => {
      socket.json({ type: "bot_typing", session_id: "s", is_typing: "yes" });
      socket.on("message", () => socket.json({ type: "pong", timestamp: "yesterday" }));
    },
    async (server) => {
      const client = new Client({ url: server.origin, token: "t", WebSocket });
      const errors = [];
      client.onError((error) => errors.push(error));
      let typed = 0;
      client.onBotTyping(() => typed++);
      await client.connect();
      await assert.rejects(client.ping(), (error) => {
        assert.ok(error instanceof FrameError);
        assert.equal(error.messageName, "pong");
        assert.equal(error.pointer, "/timestamp");
        return true;
      });
      assert.equal(typed, 0, "an invalid frame reaches no subscriber");
      assert.ok(errors.some((e) => e.pointer === "/is_typing"), errors.map((e) => e.message).join("; "));
      await client.close();
    },
  );
});

test("a request without an answer times out; an invalid outgoing message is refused before sending", async () => {
  const { Client } = await importProtocol("rixa");
  const { FrameError, TimeoutError } = await importRoot();
  await withServer(
    () => undefined,
    async (server) => {
      const client = new Client({ url: server.origin, WebSocket, timeoutMs: 200 });
      await client.connect();
      await assert.rejects(client.getChatModes(), (error) => error instanceof TimeoutError);
      await assert.rejects(client.executePluginCode({ content: "not enclosed" }), (error) => {
        assert.ok(error instanceof FrameError);
        assert.equal(error.pointer, "/content");
        return true;
      });
      await client.close();
    },
  );
});

test("an error frame fails the oldest request still waiting for its first frame, not a stream under way", async () => {
  const { Client } = await importProtocol("generalbots");
  const { ServerError } = await importRoot();
  await withServer(
    (socket) => {
      socket.json({ type: "session_created", session_id: "s-1" });
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data));
        if (frame.type === "message") {
          socket.json({ type: "stream_start", session_id: "s-1", message_id: "m-1" });
          socket.json({ type: "stream_chunk", message_id: "m-1", content: "half " });
        }
        if (frame.type === "ping") {
          // The error answers the ping; then the stream ends.
          socket.json({ type: "error", code: "RATE_LIMITED", message: "Too many messages" });
          socket.json({ type: "stream_end", message_id: "m-1", content: "half done" });
        }
      });
    },
    async (server) => {
      const client = new Client({ url: server.origin, token: "t", WebSocket });
      const seen = [];
      client.onErrorMessage((message) => seen.push(message.code));
      await client.connect();
      const stream = client.chatMessage({ content: "go" });
      const first = await stream[Symbol.asyncIterator]().next();
      assert.equal(first.value.kind, "chunk");
      await assert.rejects(client.ping(), (error) => {
        assert.ok(error instanceof ServerError, String(error));
        assert.equal(error.code, "RATE_LIMITED");
        assert.equal(error.request, "ping");
        assert.equal(error.frame.message, "Too many messages");
        assert.match(error.message, /^ping: the server answered with error_message RATE_LIMITED/);
        return true;
      });
      const result = await stream.result;
      assert.equal(result.kind, "stream");
      assert.equal(result.text, "half done");
      assert.deepEqual(seen, ["RATE_LIMITED"], "the frame reaches its subscribers too");
      // With nothing waiting, an error frame only reaches the subscribers.
      server.connections[0].socket.json({ type: "error", code: "INVALID_FORMAT", message: "Malformed JSON" });
      await client.next("error_message");
      await client.close();
    },
  );
});

test("next() and a wait for the session fail when the connection closes for good", async () => {
  const { Client } = await importProtocol("generalbots");
  const { ConnectionError, SessionError } = await importRoot();
  await withServer(
    (socket) => setTimeout(() => socket.close(1008, "authentication failed"), 50),
    async (server) => {
      const client = new Client({ url: server.origin, token: "t", WebSocket, timeoutMs: 5_000 });
      const announced = client.next("session_created");
      await client.connect();
      // The chat waits for the announced session, which never comes.
      const chat = client.chatMessage({ content: "hello?" }).result;
      const started = Date.now();
      await assert.rejects(announced, (error) => error instanceof ConnectionError && error.code === 1008);
      await assert.rejects(chat, (error) => error instanceof SessionError && /code 1008/.test(error.message));
      assert.ok(Date.now() - started < 2_000, "they fail at the close, not at their timeout");
    },
  );
  // A first connection that fails tells next() too.
  const nowhere = new Client({ url: "ws://127.0.0.1:9", token: "t", WebSocket });
  const never = nowhere.next("session_created");
  await assert.rejects(nowhere.connect(), (error) => error instanceof ConnectionError);
  await assert.rejects(never, (error) => error instanceof ConnectionError);
});

test("the client reconnects with backoff after losing the connection", async () => {
  const { Client } = await importProtocol("datagram");
  let connections = 0;
  await withServer(
    (socket) => {
      connections++;
      if (connections === 1) {
        setTimeout(() => socket.terminate(), 50);
        return;
      }
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data));
        socket.json({ msg: "ping", cid: frame.cid, content: null });
      });
    },
    async (server) => {
      const client = new Client({
        url: server.origin,
        WebSocket,
        reconnect: { retries: 3, initialDelayMs: 20, maxDelayMs: 100 },
      });
      const closes = [];
      client.onClose((info) => closes.push(info));
      let opens = 0;
      const reopened = new Promise((resolve) =>
        client.onOpen(() => {
          opens++;
          if (opens === 2) resolve();
        }),
      );
      await client.connect();
      await reopened;
      assert.equal(closes.length, 1);
      assert.equal(closes[0].reconnecting, true);
      assert.equal((await client.ping()).msg, "ping");
      await client.close();
      assert.equal(client.connected, false);
    },
  );
});

test("connecting to nothing fails with a ConnectionError", async () => {
  const { Client } = await importProtocol("rixa");
  const { ConnectionError } = await importRoot();
  const server = await scripted(() => undefined);
  const origin = server.origin;
  await server.close();
  const client = new Client({ url: origin, WebSocket, connectTimeoutMs: 2_000 });
  await assert.rejects(client.connect(), (error) => error instanceof ConnectionError);
  const sender = new Client({ url: origin, WebSocket });
  await assert.rejects(sender.getChatModes(), (error) => error instanceof ConnectionError);
});

test("a sent frame is exactly the message the schema describes", async () => {
  const { Client, decodeClientMessage } = await importProtocol("datagram");
  await withServer(
    (socket) => {
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data));
        socket.json({ msg: "session", cid: frame.cid, content: { success: true, error: null, session_id: "s" } });
      });
    },
    async (server) => {
      const client = new Client({ url: server.origin, WebSocket });
      await client.connect();
      const received = new Promise((resolve) => server.connections[0].socket.once("message", (d) => resolve(JSON.parse(String(d)))));
      await client.sessionCreate({ content: { settings: { model: "m", temperature: 1, seed: 2 } } });
      const frame = await received;
      assert.equal(frame.msg, "session");
      assert.equal(frame.content.request, "create");
      const decoded = decodeClientMessage(frame);
      assert.ok(decoded.ok);
      assert.equal(decoded.name, "session_create");
      await client.close();
    },
  );
});


test("close() while connecting or reconnecting abandons that connection: nothing opens after it", async () => {
  const { Client } = await importProtocol("datagram");
  const { ConnectionError } = await importRoot();
  let connections = 0;
  await withServer(
    (socket) => {
      connections++;
      // The first connection is lost, so that the client reconnects.
      if (connections === 1) setTimeout(() => socket.terminate(), 20);
    },
    async (server) => {
      // close() right after connect(): connect() rejects, and no socket stays open.
      const early = new Client({ url: server.origin, WebSocket });
      let opened = 0;
      early.onOpen(() => opened++);
      const connecting = early.connect();
      await early.close();
      await assert.rejects(connecting, (error) => error instanceof ConnectionError && /closed while connecting/.test(error.message));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(opened, 0);
      assert.equal(early.connected, false);
      assert.equal(server.connections.filter((c) => c.socket.readyState === 1).length, 0, "no connection stays open");

      // close() while a reconnection is being opened: it is abandoned too.
      const client = new Client({ url: server.origin, WebSocket, reconnect: { retries: 3, initialDelayMs: 1, maxDelayMs: 1 } });
      const errors = [];
      client.onError((error) => errors.push(error));
      const lost = new Promise((resolve) => client.onClose(resolve));
      await client.connect();
      await lost;
      // The reconnection fires within about a millisecond; close while it is under way.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const before = connections;
      await client.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(client.connected, false, "the reconnection did not open after close()");
      assert.equal(server.connections.filter((c) => c.socket.readyState === 1).length, 0, "no connection stays open");
      assert.ok(connections <= before + 1, "no further attempts after close()");
      assert.deepEqual(errors, [], "an abandoned attempt is no error");
      // And a client closed while reconnecting may connect again.
      await client.connect();
      assert.equal(client.connected, true);
      await client.close();
    },
  );
});

test("reconnection delays are jittered between half the backoff and all of it", async () => {
  const { Client } = await importProtocol("datagram");
  const delays = [];
  const realSetTimeout = globalThis.setTimeout;
  const realRandom = Math.random;
  const server = await scripted(() => undefined);
  const client = new Client({
    url: server.origin,
    WebSocket,
    connectTimeoutMs: 4_321,
    reconnect: { retries: 3, initialDelayMs: 40, maxDelayMs: 100, factor: 2 },
  });
  const failed = new Promise((resolve) => client.onError(resolve));
  await client.connect();
  // Record the client's timers (not the connect timeout); the jitter draws 0, its least.
  globalThis.setTimeout = (callback, ms, ...rest) => {
    if (ms !== 4_321) delays.push(ms);
    return realSetTimeout(callback, ms, ...rest);
  };
  Math.random = () => 0;
  try {
    // The server goes away for good: every reconnection is refused.
    await server.close();
    const error = await failed;
    assert.match(error.message, /reconnecting failed after 3 attempts/);
  } finally {
    globalThis.setTimeout = realSetTimeout;
    Math.random = realRandom;
  }
  // 40, 80, 160 capped at 100; jittered down to half.
  assert.deepEqual(delays.filter((ms) => ms >= 20 && ms <= 160), [20, 40, 50]);
  await client.close();
});
