// An ES module program (its project has "type": "module") that uses every protocol's client,
// type-checked with `tsc --strict` against the installed tarball (consumer.test.mjs).
// `@ts-expect-error` lines prove that mistakes are caught.

import WebSocket from "ws";

import { ConnectionError, FrameError, PROTOCOLS, type ProtocolId, TimeoutError } from "@agentwire/protocols";
import * as datagram from "@agentwire/protocols/datagram";
import * as generalbots from "@agentwire/protocols/generalbots";
import * as meet from "@agentwire/protocols/generalbots-meet";
import * as rixa from "@agentwire/protocols/rixa";
import * as socializer from "@agentwire/protocols/socializer";

const ids: readonly ProtocolId[] = PROTOCOLS;

export async function useDatagram(url: string): Promise<string> {
  const client = await datagram.connect({ url, WebSocket, timeoutMs: 5_000 });
  const pong: datagram.Pong = await client.ping();
  const created = await client.sessionCreate({ content: { settings: { model: "m", temperature: 0.7, seed: 1 } } });
  const id: string | undefined = created.content.session_id;
  const status = await client.sessionStatus();
  const state: "initializing" | "idle" | "processing" | undefined = status.content.status;
  const chat = await client.chatRequest({ content: { type: "text", data: "aGk=" } });
  // @ts-expect-error: the chat data is a string
  await client.chatRequest({ content: { type: "text", data: 1 } });
  client.onSystemMessage((message) => console.log(message.content.data));
  await client.close();
  return `${pong.cid} ${id ?? ""} ${state ?? ""} ${chat.content.sender}`;
}

export async function useGeneralbots(url: string): Promise<string> {
  const client = new generalbots.Client({ url, token: "t", WebSocket });
  // @ts-expect-error: the token is required
  new generalbots.Client({ url, WebSocket });
  // @ts-expect-error: generalbots does not authenticate by cookie
  new generalbots.Client({ url, token: "t", authVia: "cookie", WebSocket });
  client.on("stream_chunk", (chunk) => chunk.content.toUpperCase());
  client.onAny((received) => {
    if (received.name === "error_message") {
      const code: generalbots.ErrorCode = received.message.code;
      console.log(code);
    }
  });
  await client.connect();
  const session = await client.next("session_created", { timeoutMs: 1_000 });
  const pong = await client.ping();
  let text = "";
  for await (const event of client.chatMessage({ content: "hello", session_id: session.session_id })) {
    if (event.kind === "chunk") text += event.text;
    else if (event.kind === "end") text = event.text;
    else text = event.frame.content;
  }
  const result = await client.chatMessage({ content: "again" }).result;
  if (result.kind === "stream") console.log(result.end.message_id, result.text);
  const decoded = generalbots.parseServerMessage('{"type":"pong","timestamp":"2024-01-01T00:00:00Z"}');
  if (decoded.ok && decoded.name === "pong") {
    const timestamp: string = decoded.message.timestamp;
    console.log(timestamp);
  } else if (!decoded.ok) {
    const error: FrameError = decoded.error;
    console.log(error.pointer, error.reason);
  }
  const message: generalbots.ServerMessage = { type: "bot_typing", session_id: "s", is_typing: true };
  if (message.type === "bot_typing") console.log(message.is_typing);
  await client.close();
  return `${pong.timestamp} ${text}`;
}

export async function useMeet(url: string): Promise<void> {
  const client = await meet.connect({ url, WebSocket });
  client.onSignalRelay((relay) => console.log(relay.sender_id, relay.signal));
  await client.join({ room_id: "r", participant_name: "Ann" });
  await client.signal({ room_id: "r", target_id: "p", signal: { sdp: "x" } });
  await client.leave({ room_id: "r" });
  await client.close();
}

export async function useRixa(url: string): Promise<void> {
  const client = await rixa.connect({ url, WebSocket });
  const modes = await client.getChatModes();
  if ("type" in modes) console.log(modes.level, modes.content);
  else console.log(modes.role, modes.content);
  await client.changeSetting({ setting: "enable_function_calls", value: true });
  // @ts-expect-error: not a documented setting
  await client.changeSetting({ setting: "volume", value: 11 });
  await client.callPluginFunction({ function_name: "f", args: [1, "a"], kwargs: { k: null } });
  await client.close();
}

export async function useSocializer(url: string, token: string): Promise<string> {
  const client = new socializer.Client({ url, token, params: { client_id: "client-1" }, WebSocket });
  // @ts-expect-error: the endpoint's path parameter is required
  new socializer.Client({ url, token, WebSocket });
  const welcome = client.next("system_message");
  await client.connect();
  const reply = await client.chatMessage({ content: "hi" });
  const text = reply.type === "ai_response" ? reply.message : `error: ${reply.message}`;
  await client.close();
  return `${(await welcome).message} ${text}`;
}

export function inTheBrowser(url: string): Promise<rixa.Client> {
  // The DOM's WebSocket class fits the client as well as the ws package's.
  const Browser: typeof globalThis.WebSocket = globalThis.WebSocket;
  return rixa.connect({ url, WebSocket: Browser });
}

export function errors(error: unknown): string {
  if (error instanceof TimeoutError) return "timeout";
  if (error instanceof ConnectionError) return `closed ${error.code ?? ""}`;
  if (error instanceof FrameError) return `${error.union} ${error.messageName ?? "?"} ${error.pointer}`;
  return ids.join();
}
