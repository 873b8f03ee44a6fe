// Each protocol's typed client holds real conversations with the reference server of its protocol
// (`reference --protocol <id> --listen 127.0.0.1:0`, built by `cargo build -p agentwire-reference`):
// authentication by query token, cookie and first message, requests correlated the protocol's way
// (several in flight), streams, sessions, relays, commands and the server's error frames. Every
// frame the server sends must pass the guards: a FrameError anywhere fails the test.
//
// With AGENTWIRE_VIA_PROXY=1 (a step of `cargo xtask test`), every conversation goes through
// `conformance proxy` instead, unchanged: the same assertions hold, and once the tests are done
// each proxy must have found nothing wrong with the server, and nothing with the client but what a
// test does on purpose (bad input, a chat after its session was destroyed).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";

import WebSocket from "ws";

import { importProtocol, importRoot } from "./lib/package.mjs";
import { paths } from "./lib/paths.mjs";
import { startProxy, startReference } from "./lib/servers.mjs";
import { JWT_SECRET, token } from "./lib/targets.mjs";

const viaProxy = process.env.AGENTWIRE_VIA_PROXY === "1";
const running = [];
const proxies = [];

after(async () => {
  const stopped = await Promise.all(proxies.map(async ({ id, proxy, clientFaults }) => ({ id, clientFaults, ...(await proxy.stop()) })));
  await Promise.all(running.map((server) => server.stop()));
  for (const { id, clientFaults, code, lines, stderr } of stopped) {
    const problems = lines.filter((l) => l.kind === "finding" && l.severity !== "info");
    const server = problems.filter((f) => f.by === "server");
    const client = problems.filter((f) => f.by === "client");
    assert.deepEqual(server, [], `${id}: the proxy found the reference server at fault`);
    for (const finding of client) {
      assert.ok(clientFaults.some((fault) => fault.test(finding.finding)), `${id}: the proxy found the typed client at fault: ${JSON.stringify(finding)}`);
    }
    for (const fault of clientFaults) {
      assert.ok(client.some((f) => fault.test(f.finding)), `${id}: the client's fault on purpose (${fault}) was not reported`);
    }
    assert.equal(code, problems.some((f) => f.severity === "fail") ? 1 : 0, `${id}: ${stderr}`);
    const summary = lines.at(-1);
    assert.equal(summary.kind, "summary", `${id}: the summary ends the output`);
    assert.ok(summary.connections > 0, `${id}: ${JSON.stringify(summary)}`);
  }
});

/**
 * The reference server of a protocol, or with AGENTWIRE_VIA_PROXY=1 a proxy in front of one.
 * `clientFaults`: what the test's client does wrong on purpose, as the proxy words it.
 */
async function reference(id, { clientFaults = [] } = {}) {
  const server = await startReference(id, ["--jwt-secret", JWT_SECRET]);
  running.push(server);
  if (!viaProxy) return server;
  const proxy = await startProxy(id, server.origin);
  proxies.push({ id, proxy, clientFaults });
  return { ...server, origin: proxy.origin };
}

/** A client whose every error (a frame failing the guards, above all) is recorded. */
function watched(client) {
  const errors = [];
  client.onError((error) => errors.push(error.message));
  return { client, errors };
}

/** Collects every message of one kind a client receives. */
function collect(client, name) {
  const seen = [];
  client.on(name, (message) => seen.push(message));
  return seen;
}

/** Resolves once `condition()` holds, polling; fails after `ms`. */
async function until(condition, what, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The close event of a client, as a promise. */
function closed(client) {
  return new Promise((resolve) => {
    const stop = client.onClose((info) => {
      stop();
      resolve(info);
    });
  });
}

/** An example of a protocol's document, verbatim. */
function documentExample(id, file) {
  return JSON.parse(readFileSync(join(paths.root, "schema", id, "examples", file), "utf8"));
}

const decodeBase64 = (text) => Buffer.from(text, "base64").toString("utf8");
const base64 = (text) => Buffer.from(text, "utf8").toString("base64");

test("datagram: cids correlate requests in flight together; a session's life; chat; refusals", { timeout: 60_000 }, async () => {
  const { Client } = await importProtocol("datagram");
  const server = await reference("datagram", { clientFaults: [/`chat_request` needs a session/] });
  const { client, errors } = watched(new Client({ url: server.origin, WebSocket }));
  await client.connect();

  // The document's own example, with its correlation id (shorter than those the client makes up).
  const example = documentExample("datagram", "client/ping.json");
  const pong = await client.ping({ cid: example.cid });
  assert.deepEqual(pong, { msg: "ping", cid: example.cid, content: null });

  // A chat needs a session: refused by the client before anything is sent.
  await assert.rejects(client.chatRequest({ content: { type: "text", data: base64("too early") } }), { name: "SessionError" });

  const settings = { model: "ggml-model.bin", temperature: 0.8, seed: 1234 };
  const notice = client.next("system_message");
  const created = await client.sessionCreate({ content: { settings } });
  assert.equal(created.content.success, true);
  assert.equal(created.content.error, null);
  const session = created.content.session_id;
  assert.equal(client.session, session, "the session id was learnt from the reply");
  const system = await notice;
  assert.equal(system.cid, created.cid, "the notice follows its request");
  assert.match(decodeBase64(system.content.data), new RegExp(`session ${session} is ready`));

  // Four requests in flight at once, each answered by the reply that carries its cid.
  const [ping, status, chat, ping2] = await Promise.all([
    client.ping(),
    client.sessionStatus(),
    client.chatRequest({ content: { type: "text", data: base64("Hello, datagram!") } }),
    client.ping({ cid: "second" }),
  ]);
  assert.equal(ping.msg, "ping");
  assert.match(ping.cid, /^[0-9a-f]{32}$/, "the client made up the cid");
  assert.equal(ping2.cid, "second");
  assert.equal(status.msg, "session");
  assert.equal(status.content.status, "idle");
  assert.deepEqual(status.content.settings, settings);
  assert.equal(chat.msg, "chat");
  assert.equal(chat.content.success, true);
  assert.equal(decodeBase64(chat.content.data), "Echo: Hello, datagram!");

  // A second connection resumes the session by id and chats in it.
  const other = watched(new Client({ url: server.origin, WebSocket }));
  await other.client.connect();
  const missing = await other.client.sessionResume({ content: { session_id: "session-none" } });
  assert.equal(missing.content.success, false);
  assert.match(String(missing.content.error), /does not exist/);
  const resumed = await other.client.sessionResume({ content: { session_id: session } });
  assert.equal(resumed.content.success, true);
  other.client.useSession(session);
  const there = await other.client.chatRequest({ content: { type: "text", data: base64("me too") } });
  assert.equal(decodeBase64(there.content.data), "Echo: me too");
  await other.client.close();

  const destroyed = await client.sessionDestroy();
  assert.equal(destroyed.content.success, true);
  // The server refuses a chat in the destroyed session, in the reply.
  const refused = await client.chatRequest({ content: { type: "text", data: base64("anyone?") } });
  assert.equal(refused.content.success, false);
  assert.equal(typeof refused.content.error, "string");
  await client.close();
  assert.deepEqual([...errors, ...other.errors], []);
});

for (const authVia of ["query_parameter", "first_message"]) {
  test(`generalbots (${authVia}): the session, pings, streamed, single and tool answers`, { timeout: 60_000 }, async () => {
    const { Client } = await importProtocol("generalbots");
    const server = await reference("generalbots");
    const { client, errors } = watched(new Client({ url: server.origin, token: await token(), authVia, WebSocket }));
    const typing = collect(client, "bot_typing");
    const announced = client.next("session_created");
    await client.connect();
    const { session_id } = await announced;
    assert.equal(client.session, session_id);

    const pong = await client.ping();
    assert.equal(pong.type, "pong");
    await client.typingStart();
    await client.typingStop();

    // A streamed answer, iterated, with a ping answered while it streams.
    const reply = client.chatMessage({ content: "Hello, I need help with my order" });
    const [events, pong2] = await Promise.all([
      (async () => {
        const seen = [];
        for await (const event of reply) seen.push(event);
        return seen;
      })(),
      client.ping(),
    ]);
    assert.equal(pong2.type, "pong");
    const chunks = events.filter((e) => e.kind === "chunk").map((e) => e.text);
    const end = events.at(-1);
    assert.equal(end.kind, "end", "the last event is the end, with the full text");
    assert.equal(end.text, "Echo: Hello, I need help with my order");
    assert.ok(chunks.length > 1, "the answer came in several chunks");
    assert.equal(chunks.join(""), end.text, "the chunks add up to the full text");
    const result = await reply.result;
    assert.equal(result.kind, "stream");
    assert.equal(result.start.session_id, session_id, "the session id was filled in");
    assert.equal(result.text, end.text);
    assert.equal(result.chunks.length, chunks.length);

    // `/once` is answered by one chat_response: the iterator yields it as a message.
    const once = [];
    for await (const event of client.chatMessage({ content: "/once quick answer" })) once.push(event);
    assert.equal(once.length, 1);
    assert.equal(once[0].kind, "message");
    assert.equal(once[0].frame.content, "Echo: quick answer");
    assert.equal(once[0].frame.role, "assistant");

    // A tool call and its result arrive before the answer, to their subscribers.
    const calls = collect(client, "tool_call");
    const results = collect(client, "tool_result");
    const tooled = await client.chatMessage({ content: '/tool search_orders {"order_id": "12345"}' }).result;
    assert.equal(tooled.kind, "stream");
    assert.equal(tooled.text, "Echo: I called search_orders.");
    assert.deepEqual(calls.map((c) => [c.tool, c.arguments]), [["search_orders", { order_id: "12345" }]]);
    assert.deepEqual(results.map((r) => r.result), [{ tool: "search_orders", echo: { order_id: "12345" } }]);
    await until(() => typing.length >= 6, "bot_typing on and off for each answer");
    assert.deepEqual(typing.slice(0, 2).map((t) => t.is_typing), [true, false]);

    await client.close();
    assert.deepEqual(errors, []);
  });
}

test("generalbots: error frames fail the request they answer, or reach their subscribers", { timeout: 60_000 }, async () => {
  const { Client } = await importProtocol("generalbots");
  const { ServerError, ConnectionError } = await importRoot();
  const server = await reference("generalbots");
  const { client, errors } = watched(new Client({ url: server.origin, token: await token(), WebSocket }));
  // The server announces the session as the connection opens: wait for it from before connecting.
  const announced = client.next("session_created");
  await client.connect();
  await announced;

  // SESSION_NOT_FOUND answers a chat in an unknown session: the stream fails, iterated or awaited.
  const lost = client.chatMessage({ content: "hello?", session_id: "no-such-session" });
  await assert.rejects(
    async () => {
      for await (const event of lost) assert.fail(`unexpected ${event.kind}`);
    },
    (error) => error instanceof ServerError && error.code === "SESSION_NOT_FOUND" && /chat_message/.test(error.message),
  );
  await assert.rejects(lost.result, { name: "ServerError", code: "SESSION_NOT_FOUND" });
  // Subscribing is not a request: its SUBSCRIPTION_FAILED reaches the error_message subscribers.
  const failed = client.next("error_message");
  await client.subscribe({ session_id: "no-such-session" });
  assert.equal((await failed).code, "SUBSCRIPTION_FAILED");
  // The connection goes on.
  assert.equal((await client.ping()).type, "pong");
  await client.close();
  assert.deepEqual(errors, []);

  // A token signed with another secret: AUTH_FAILED, then close 1008, with no reconnection even
  // when asked for; whoever waits for a message is told.
  for (const authVia of ["query_parameter", "first_message"]) {
    const refused = watched(new Client({ url: server.origin, token: await token("mallory", "not-the-secret"), authVia, reconnect: true, WebSocket }));
    const denial = refused.client.next("error_message");
    const session = refused.client.next("session_created");
    const end = closed(refused.client);
    await refused.client.connect();
    assert.equal((await denial).code, "AUTH_FAILED");
    assert.deepEqual(await end, { code: 1008, reason: "authentication failed", reconnecting: false });
    await assert.rejects(session, (error) => error instanceof ConnectionError && error.code === 1008);
    assert.equal(refused.client.connected, false);
    assert.deepEqual(refused.errors, []);
  }
});

test("generalbots: a subscriber sees another connection's session, and its end", { timeout: 60_000 }, async () => {
  const { Client } = await importProtocol("generalbots");
  const server = await reference("generalbots");
  const alice = watched(new Client({ url: server.origin, token: await token("alice"), WebSocket }));
  const bob = watched(new Client({ url: server.origin, token: await token("bob"), WebSocket }));
  const announced = alice.client.next("session_created");
  await alice.client.connect();
  await bob.client.connect();
  const { session_id } = await announced;
  const seen = collect(bob.client, "stream_end");
  await bob.client.subscribe({ session_id });
  // Subscribing has no reply; the server handles a connection's frames in order, so once bob's
  // ping is answered his subscription is in place.
  await bob.client.ping();
  const answer = await alice.client.chatMessage({ content: "shared with bob" }).result;
  assert.equal(answer.kind, "stream");
  await until(() => seen.length === 1, "bob to see alice's answer");
  assert.equal(seen[0].content, "Echo: shared with bob");
  const ended = bob.client.next("session_closed");
  await alice.client.close();
  assert.equal((await ended).session_id, session_id);
  await bob.client.close();
  assert.deepEqual([...alice.errors, ...bob.errors], []);
});

for (const authVia of ["query_parameter", "cookie"]) {
  test(`socializer (${authVia}): the welcome message and answers`, { timeout: 60_000 }, async () => {
    const { Client } = await importProtocol("socializer");
    const server = await reference("socializer");
    const { client, errors } = watched(
      new Client({ url: server.origin, token: await token("ada"), authVia, params: { client_id: "client-ts" }, WebSocket }),
    );
    const welcome = client.next("system_message");
    await client.connect();
    assert.match((await welcome).message, /^Welcome to AI Chat, ada!/, "the token's username was read");
    const first = await client.chatMessage({ content: "Hello, AI!" });
    assert.equal(first.type, "ai_response");
    assert.match(first.message, /"Hello, AI!".*message 1/);
    // Requests answer in order: two in flight resolve with their own answers.
    const [second, third] = await Promise.all([client.chatMessage({ content: "two" }), client.chatMessage({ content: "three" })]);
    assert.match(second.message, /"two".*message 2/);
    assert.match(third.message, /"three".*message 3/);
    await client.close();
    assert.deepEqual(errors, []);
  });
}

test("the URL may be the server's or the endpoint's own; a refused handshake names its HTTP status", { timeout: 60_000 }, async () => {
  const { Client } = await importProtocol("generalbots");
  const socializer = await importProtocol("socializer");
  const { ConnectionError } = await importRoot();
  const server = await reference("generalbots", { clientFaults: [/not at the documented endpoint/] });
  // As the server prints it (with the path), and as the origin (the client appends the path).
  for (const url of [`${server.origin}${server.path}`, server.origin, `${server.origin}/`]) {
    const client = new Client({ url, token: await token(), WebSocket });
    const announced = client.next("session_created");
    await client.connect();
    await announced;
    assert.equal((await client.ping()).type, "pong", url);
    await client.close();
  }
  // A path parameter is filled only where the client appends the path; a whole URL is used as given.
  const chat = await reference("socializer");
  const whole = new socializer.Client({ url: `${chat.origin}/ws/ai/ai-chat/client-whole`, token: await token(), WebSocket });
  const welcome = whole.next("system_message");
  await whole.connect();
  assert.match((await welcome).message, /Welcome/);
  await whole.close();
  // A wrong path: the server refuses the handshake with 404, and the error says so.
  const lost = new Client({ url: `${server.origin}/nowhere`, token: await token(), WebSocket });
  await assert.rejects(lost.connect(), (error) => {
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.status, 404);
    assert.ok(error.message.startsWith(`HTTP 404 at ${server.origin}/nowhere`), error.message);
    assert.ok(!error.message.includes("token="), "the token is not shown");
    return true;
  });
});

test("socializer: an invalid token is refused with close 1008, without reconnecting", { timeout: 60_000 }, async () => {
  const { Client } = await importProtocol("socializer");
  const { ConnectionError } = await importRoot();
  const server = await reference("socializer");
  for (const authVia of ["query_parameter", "cookie"]) {
    const forged = await token("mallory", "not-the-secret");
    const { client, errors } = watched(
      new Client({ url: server.origin, token: forged, authVia, params: { client_id: "c" }, reconnect: true, WebSocket }),
    );
    const welcome = client.next("system_message");
    const end = closed(client);
    // The handshake completes before the refusal; were the close to come first, connect() would
    // reject instead.
    const refusedEarly = await client.connect().then(
      () => false,
      (error) => {
        assert.ok(error instanceof ConnectionError && error.code === 1008, error.message);
        return true;
      },
    );
    if (!refusedEarly) {
      const info = await end;
      assert.deepEqual([info.code, info.reconnecting], [1008, false]);
    }
    await assert.rejects(welcome, (error) => error instanceof ConnectionError && error.code === 1008);
    assert.equal(client.connected, false);
    assert.deepEqual(errors, []);
  }
});

test("rixa: every command answered, several in flight in order, errors as status messages", { timeout: 60_000 }, async () => {
  const { Client } = await importProtocol("rixa");
  const server = await reference("rixa");
  const { client, errors } = watched(new Client({ url: server.origin, WebSocket }));
  await client.connect();
  /** The content of a `{role, content}` response of the given role. */
  const content = (reply, role) => {
    assert.ok(!("type" in reply), `expected a response, got status ${JSON.stringify(reply)}`);
    assert.equal(reply.role, role);
    return reply.content;
  };
  /** The text of an error status. */
  const status = (reply) => {
    assert.equal(reply.type, "status", `expected a status, got ${JSON.stringify(reply)}`);
    assert.equal(reply.level, "error");
    return reply.content;
  };

  // Three requests in flight: RIXA replies carry no id, so they answer in order.
  const [modes, plugins, user] = await Promise.all([client.getChatModes(), client.getPluginSettings(), client.userSettings()]);
  assert.deepEqual(content(modes, "chat_modes"), ["default", "research", "concise"]);
  assert.deepEqual(content(plugins, "plugin_settings").math, { precision: 2 });
  assert.deepEqual(content(user, "user_settings"), {
    enable_function_calls: false,
    enable_knowledge_retrieval: false,
    selected_chat_mode: "default",
  });

  const changed = await client.changeSetting({ setting: "selected_chat_mode", value: "research" });
  assert.equal(content(changed, "user_settings").selected_chat_mode, "research");
  assert.match(status(await client.changeSetting({ setting: "selected_chat_mode", value: "loud" })), /must be one of/);
  assert.match(status(await client.changeSetting({ setting: "enable_function_calls", value: "yes" })), /true or false/);

  const updated = await client.updatePluginSetting({ plugin_id: "my_plugin", setting_id: "greeting", value: "hi" });
  assert.equal(content(updated, "plugin_settings").my_plugin.greeting, "hi");
  assert.match(status(await client.updatePluginSetting({ plugin_id: "none", setting_id: "x", value: 1 })), /has no setting/);

  assert.equal(content(await client.executePluginCode({ content: "#add(1, 2)#" }), "plugin_result"), 3);
  assert.match(status(await client.executePluginCode({ content: "#launch(1)#" })), /unknown plugin function/);
  assert.deepEqual(content(await client.callPluginFunction({ function_name: "upper", args: ["rixa"] }), "function_result"), {
    function_name: "upper",
    result: "RIXA",
  });
  assert.match(status(await client.callPluginFunction({ function_name: "add", args: ["x"] })), /two numbers/);

  assert.match(content(await client.usrMsg({ content: "hi there" }), "assistant"), /You said: hi there \(1 messages in this chat, mode research\)/);
  assert.match(content(await client.deleteCurrentTracker(), "tracker"), /deleted/);
  assert.match(content(await client.bugReport({ report: "it broke", image: "aGk=" }), "bug_report"), /8 characters with an image/);
  assert.equal(typeof content(await client.getUtilizationInfo(), "utilization_info").connections, "number");
  assert.ok(content(await client.getGlobalSettings(), "global_settings").website_title);
  assert.equal(content(await client.getChatStartInfo({ selected_chat_mode: "concise" }), "chat_start_info").title, "RIXA: concise mode");
  assert.match(status(await client.getChatStartInfo({ selected_chat_mode: "nope" })), /unknown chat mode/);
  await client.close();
  assert.deepEqual(errors, []);
});

test("generalbots-meet: participants learn their ids, relay signals, see joins and leaves", { timeout: 60_000 }, async () => {
  const { Client } = await importProtocol("generalbots-meet");
  const server = await reference("generalbots-meet");
  const alice = watched(new Client({ url: server.origin, WebSocket }));
  const bob = watched(new Client({ url: server.origin, WebSocket }));
  const aliceJoins = collect(alice.client, "join_notice");
  const bobJoins = collect(bob.client, "join_notice");
  await alice.client.connect();
  await bob.client.connect();

  await alice.client.join({ room_id: "room-ts", participant_name: "Alice" });
  await until(() => aliceJoins.length === 1, "alice's own join notice");
  const aliceId = aliceJoins[0].participant_id;
  assert.ok(aliceId, "the joiner learns its participant id");

  await bob.client.join({ room_id: "room-ts", participant_name: "Bob" });
  await until(() => bobJoins.length === 2 && aliceJoins.length === 2, "the join notices of bob's joining");
  assert.deepEqual(
    bobJoins.map((n) => [n.participant_name, n.participant_id]),
    [["Alice", aliceId], ["Bob", aliceJoins[1].participant_id]],
    "bob learns who is there, then his own id",
  );
  const bobId = aliceJoins[1].participant_id;
  assert.equal(aliceJoins[1].participant_name, "Bob");
  assert.notEqual(bobId, aliceId);

  const offer = bob.client.next("signal_relay");
  await alice.client.signal({ room_id: "room-ts", target_id: bobId, signal: { type: "offer", sdp: "v=0" } });
  const relayed = await offer;
  assert.deepEqual(relayed.signal, { type: "offer", sdp: "v=0" });
  assert.equal(relayed.sender_id, aliceId, "the relay names its sender");
  const answer = alice.client.next("signal_relay");
  await bob.client.signal({ room_id: "room-ts", target_id: relayed.sender_id, signal: { type: "answer", sdp: "v=0" } });
  assert.equal((await answer).signal.type, "answer");

  const left = alice.client.next("leave_notice");
  await bob.client.leave({ room_id: "room-ts" });
  const notice = await left;
  assert.deepEqual([notice.room_id, notice.participant_id], ["room-ts", bobId]);
  await alice.client.close();
  await bob.client.close();
  assert.deepEqual([...alice.errors, ...bob.errors], []);
});

test("every protocol: the frames a reference server sends for bad input pass the guards", { timeout: 60_000 }, async () => {
  const cases = {
    datagram: { path: "/", expect: "system_message" },
    generalbots: { path: "/ws", query: true, expect: "error_message", code: "INVALID_FORMAT" },
    "generalbots-meet": { path: "/ws/meet", expect: "error_message", code: "INVALID_FORMAT" },
    rixa: { path: "/ws/", expect: "status" },
    socializer: { path: "/ws/ai/ai-chat/c", query: true, expect: "error_message" },
  };
  const tok = await token();
  for (const [id, { path, query, expect, code }] of Object.entries(cases)) {
    const bindings = await importProtocol(id);
    // The test's socket sends nothing but bad input: whatever the proxy says of it is the client's.
    const server = await reference(id, { clientFaults: [/./] });
    const url = `${server.origin}${path}${query ? `?token=${tok}` : ""}`;
    const socket = new WebSocket(url);
    const frames = [];
    socket.on("message", (data) => frames.push(String(data)));
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const greeted = id === "generalbots" || id === "socializer" ? 1 : 0;
    await until(() => frames.length >= greeted, `${id}'s greeting`);
    for (const bad of ["{not json", "[1, 2]", '{"type": "launch"}']) {
      const before = frames.length;
      socket.send(bad);
      await until(() => frames.length > before, `${id}'s answer to ${bad}`);
    }
    for (const text of frames) {
      const decoded = bindings.parseServerMessage(text);
      assert.ok(decoded.ok, `${id} sent ${text}: ${decoded.ok ? "" : decoded.error.message}`);
    }
    const answers = frames.slice(greeted).map((text) => bindings.parseServerMessage(text));
    for (const answer of answers) {
      assert.equal(answer.name, expect, `${id}: ${JSON.stringify(answer.message)}`);
      if (code !== undefined) assert.equal(answer.message.code, code);
    }
    socket.close();
  }
});
