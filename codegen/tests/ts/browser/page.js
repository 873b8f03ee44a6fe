// Runs in Chromium: conversations with the reference servers through the packed package's
// clients, with the browser's own WebSocket. The outcome goes to `window.agentwireResult` for the
// test to read.

import * as datagram from "@agentwire/protocols/datagram";
import * as generalbots from "@agentwire/protocols/generalbots";
import * as socializer from "@agentwire/protocols/socializer";

const params = new URLSearchParams(location.search);
const token = params.get("token");

/** General Bots: the query token, the announced session, a ping, a streamed answer, a tool call. */
async function bots() {
  const client = new generalbots.Client({ url: params.get("generalbots"), token });
  const errors = [];
  client.onError((error) => errors.push(error.message));
  const announced = client.next("session_created");
  await client.connect();
  const session = await announced;
  const pong = await client.ping();
  const chunks = [];
  let full = "";
  for await (const event of client.chatMessage({ content: "hello from the browser, streamed in chunks" })) {
    if (event.kind === "chunk") chunks.push(event.text);
    if (event.kind === "end") full = event.text;
    if (event.kind === "message") full = event.frame.content;
  }
  const tools = [];
  client.onToolCall((call) => tools.push(call.tool));
  const once = await client.chatMessage({ content: '/tool lookup {"q": "browser"}' }).result;
  await client.close();
  return { session: session.session_id, pong: pong.type, chunks, full, tools, tool: once.kind, errors };
}

/** Socializer: the token as the `access_token` cookie, which only a page sets that way. */
async function chat() {
  const client = new socializer.Client({
    url: params.get("socializer"),
    token,
    authVia: "cookie",
    params: { client_id: "client-browser" },
  });
  const welcome = client.next("system_message");
  await client.connect();
  const greeting = (await welcome).message;
  const reply = await client.chatMessage({ content: "hi from the browser" });
  await client.close();
  return { greeting, reply: reply.message, cookie: document.cookie.includes("access_token=") };
}

/** datagram: a session created and used, base64 chat text through the browser's btoa/atob. */
async function sessions() {
  const client = await datagram.connect({ url: params.get("datagram") });
  const created = await client.sessionCreate({ content: { settings: { model: "browser.bin", temperature: 0.5, seed: 7 } } });
  const answer = await client.chatRequest({ content: { type: "text", data: btoa("from the page") } });
  await client.sessionDestroy();
  await client.close();
  return { session: created.content.session_id, echo: atob(answer.content.data) };
}

async function run() {
  return { ok: true, bots: await bots(), chat: await chat(), datagram: await sessions() };
}

run().then(
  (result) => {
    window.agentwireResult = result;
  },
  (error) => {
    window.agentwireResult = { ok: false, error: `${error.name}: ${error.message}` };
  },
);
