// A CommonJS program (its project has no "type": "module"), type-checked with `tsc --strict`
// against the installed tarball (consumer.test.mjs): its imports compile to `require` and resolve
// to the package's CommonJS build and its declarations.

import WebSocket from "ws";

import { PROTOCOLS } from "@agentwire/protocols";
import * as datagram from "@agentwire/protocols/datagram";
import { ConnectionError, FrameError, ServerError, SessionError, TimeoutError, connect } from "@agentwire/protocols/generalbots";
import * as meet from "@agentwire/protocols/generalbots-meet";
import * as rixa from "@agentwire/protocols/rixa";
import * as socializer from "@agentwire/protocols/socializer";

export async function chat(url: string, token: string): Promise<string> {
  const client = await connect({ url, token, WebSocket });
  const answer = await client.chatMessage({ content: "hello" }).result;
  await client.close();
  return answer.kind === "stream" ? answer.text : answer.message.content;
}

export async function ping(url: string): Promise<string> {
  const client = await datagram.connect({ url, WebSocket });
  // @ts-expect-error: a cid is a string
  await client.ping({ cid: 1 });
  const pong: datagram.Pong = await client.ping({ cid: "1a2b3c4d" });
  await client.close();
  return pong.cid;
}

export function clients(url: string): readonly unknown[] {
  return [
    new meet.Client({ url, WebSocket }),
    new rixa.Client({ url, WebSocket }),
    new socializer.Client({ url, token: "t", params: { client_id: "c" }, WebSocket }),
  ];
}

export function describe(error: unknown): string {
  if (error instanceof ConnectionError) return `closed ${error.code ?? ""} ${error.status ?? ""}`;
  if (error instanceof ServerError) return `${error.messageName} ${error.code ?? ""}`;
  if (error instanceof FrameError) return `${error.union} ${error.pointer}`;
  if (error instanceof TimeoutError || error instanceof SessionError) return error.message;
  return PROTOCOLS.join();
}
