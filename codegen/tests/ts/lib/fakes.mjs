// Scripted servers that play a protocol's server side well enough for a conversation, for when
// the reference servers are not in the checkout.

const NOW = "2024-01-01T10:00:00Z";

/** General Bots: token in the query, a session announced, pongs, and echo replies as streams. */
export function generalbots(socket, request) {
  const token = new URL(request.url, "ws://x").searchParams.get("token");
  if (!token) {
    socket.json({ type: "error", code: "AUTH_FAILED", message: "Invalid or expired token" });
    socket.close(1008);
    return;
  }
  socket.json({ type: "session_created", session_id: "s-1" });
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
}

/** Socializer: the `access_token` cookie, a welcome message, echo replies. */
export function socializer(socket, request) {
  const cookie = request.headers.cookie ?? "";
  if (!/(^|;\s*)access_token=[^;]+/.test(cookie)) {
    socket.close(1008, "missing token");
    return;
  }
  socket.json({ type: "system", message: "Welcome to AI Chat!", timestamp: "2025-10-01T20:00:00.000000" });
  socket.on("message", (data) => {
    const { content } = JSON.parse(String(data));
    socket.json({ type: "ai_response", message: `You said: ${content}`, timestamp: "2025-10-01T20:00:01" });
  });
}
