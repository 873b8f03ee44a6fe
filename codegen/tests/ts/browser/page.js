// Runs in Chromium: conversations through the packed package's clients, with the browser's own
// WebSocket. The outcome goes to `window.agentwireResult` for the test to read.

import * as generalbots from "@agentwire/protocols/generalbots";
import * as socializer from "@agentwire/protocols/socializer";

const params = new URLSearchParams(location.search);

async function run() {
  const bots = new generalbots.Client({ url: params.get("generalbots"), token: params.get("token") ?? "browser-token" });
  const announced = bots.next("session_created");
  await bots.connect();
  const session = await announced;
  const pong = await bots.ping();
  const chunks = [];
  let full = "";
  for await (const event of bots.chatMessage({ content: "hello from the browser" })) {
    if (event.kind === "chunk") chunks.push(event.text);
    if (event.kind === "end") full = event.text;
    if (event.kind === "message") full = event.frame.content;
  }
  await bots.close();

  const chat = new socializer.Client({
    url: params.get("socializer"),
    token: params.get("jwt") ?? "a.b.c",
    authVia: "cookie",
    params: { client_id: "client-browser" },
  });
  const welcome = chat.next("system_message");
  await chat.connect();
  const greeting = (await welcome).message;
  const reply = await chat.chatMessage({ content: "hi from the browser" });
  await chat.close();

  return { ok: true, session: session.session_id, pong: pong.type, chunks, full, greeting, reply: reply.message };
}

run().then(
  (result) => {
    window.agentwireResult = result;
  },
  (error) => {
    window.agentwireResult = { ok: false, error: `${error.name}: ${error.message}` };
  },
);
