// Each protocol's client holds a real conversation with the reference server of its protocol
// (`cargo run -p agentwire-reference -- --protocol <id> --listen 127.0.0.1:0`). Every frame the
// server sends must pass the guards: a FrameError anywhere fails the test.

import assert from "node:assert/strict";
import { after, test } from "node:test";

import WebSocket from "ws";

import { importProtocol } from "./lib/package.mjs";
import { jwt, startReference } from "./lib/servers.mjs";
import { JWT_SECRET, usesReference } from "./lib/targets.mjs";

const skip = usesReference() ? false : "the reference servers are not in this checkout (reference/)";
const running = [];

after(() => Promise.all(running.map((server) => server.stop())));

async function reference(id) {
  const server = await startReference(id, ["--jwt-secret", JWT_SECRET]);
  running.push(server);
  return server;
}

/** A client whose every error is recorded, to be asserted empty at the end. */
function watched(client) {
  const errors = [];
  client.onError((error) => errors.push(error.message));
  return { client, errors };
}

async function token() {
  return jwt(JWT_SECRET, { sub: "ts-tests", username: "ts-tests", exp: Math.floor(Date.now() / 1000) + 3600 });
}

test("datagram: ping, a session's life, and a chat", { skip, timeout: 120_000 }, async () => {
  const { Client } = await importProtocol("datagram");
  const server = await reference("datagram");
  const { client, errors } = watched(new Client({ url: server.origin, WebSocket }));
  await client.connect();
  const pong = await client.ping();
  assert.equal(pong.msg, "ping");
  const created = await client.sessionCreate({ content: { settings: { model: "ggml-model.bin", temperature: 0.8, seed: 1234 } } });
  assert.equal(created.content.success, true);
  assert.ok(client.session, "the session id was learnt from the reply");
  const status = await client.sessionStatus();
  assert.ok(status.content.status, "a status request shows the status");
  const text = Buffer.from("Hello, datagram!").toString("base64");
  const chat = await client.chatRequest({ content: { type: "text", data: text } });
  assert.equal(typeof chat.content.data, "string");
  const destroyed = await client.sessionDestroy();
  assert.equal(destroyed.content.success, true);
  await client.close();
  assert.deepEqual(errors, []);
});

for (const authVia of ["query_parameter", "first_message"]) {
  test(`generalbots (${authVia}): the session, a ping, a streamed answer`, { skip, timeout: 120_000 }, async () => {
    const { Client } = await importProtocol("generalbots");
    const server = await reference("generalbots");
    const { client, errors } = watched(new Client({ url: server.origin, token: await token(), authVia, WebSocket }));
    await client.connect();
    const pong = await client.ping();
    assert.equal(pong.type, "pong");
    await client.typingStart({});
    await client.typingStop({});
    const reply = client.chatMessage({ content: "Hello, I need help with my order" });
    let chunks = "";
    let full;
    for await (const event of reply) {
      if (event.kind === "chunk") chunks += event.text;
      else if (event.kind === "end") full = event.text;
      else full = event.frame.content;
    }
    assert.ok(full && full.length > 0, "the answer has text");
    const result = await reply.result;
    if (result.kind === "stream") assert.equal(chunks, full, "the chunks add up to the full text");
    await client.close();
    assert.deepEqual(errors, []);
  });
}

for (const authVia of ["query_parameter", "cookie"]) {
  test(`socializer (${authVia}): the welcome message and an answer`, { skip, timeout: 120_000 }, async () => {
    const { Client } = await importProtocol("socializer");
    const server = await reference("socializer");
    const { client, errors } = watched(
      new Client({ url: server.origin, token: await token(), authVia, params: { client_id: "client-ts" }, WebSocket }),
    );
    const welcome = client.next("system_message");
    await client.connect();
    assert.ok((await welcome).message.length > 0);
    const reply = await client.chatMessage({ content: "Hello, AI!" });
    assert.equal(reply.type, "ai_response");
    await client.close();
    assert.deepEqual(errors, []);
  });
}

test("rixa: commands answered with responses", { skip, timeout: 120_000 }, async () => {
  const { Client } = await importProtocol("rixa");
  const server = await reference("rixa");
  const { client, errors } = watched(new Client({ url: server.origin, WebSocket }));
  await client.connect();
  const modes = await client.getChatModes();
  assert.equal(modes.role, "chat_modes");
  const settings = await client.getPluginSettings();
  assert.equal(settings.role, "plugin_settings");
  const user = await client.userSettings();
  assert.equal(user.role, "user_settings");
  const changed = await client.changeSetting({ setting: "enable_function_calls", value: true });
  assert.ok(changed);
  const executed = await client.executePluginCode({ content: "#print(1)#" });
  assert.ok(executed);
  await client.close();
  assert.deepEqual(errors, []);
});

test("generalbots-meet: two participants join a room and exchange a signal", { skip, timeout: 120_000 }, async () => {
  const { Client } = await importProtocol("generalbots-meet");
  const server = await reference("generalbots-meet");
  const alice = watched(new Client({ url: server.origin, WebSocket }));
  const bob = watched(new Client({ url: server.origin, WebSocket }));
  await alice.client.connect();
  await bob.client.connect();
  await alice.client.join({ room_id: "room-ts", participant_name: "Alice" });
  const bobJoined = alice.client.next("join_notice");
  await bob.client.join({ room_id: "room-ts", participant_name: "Bob" });
  const notice = await bobJoined;
  assert.equal(notice.participant_name, "Bob");
  assert.ok(notice.participant_id, "the notice names the participant to address");
  const relayed = bob.client.next("signal_relay");
  await alice.client.signal({ room_id: "room-ts", target_id: notice.participant_id, signal: { sdp: "offer" } });
  assert.deepEqual((await relayed).signal, { sdp: "offer" });
  const left = alice.client.next("leave_notice");
  await bob.client.leave({ room_id: "room-ts" });
  assert.equal((await left).room_id, "room-ts");
  await alice.client.close();
  await bob.client.close();
  assert.deepEqual([...alice.errors, ...bob.errors], []);
});
