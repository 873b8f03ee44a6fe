//! The chunks and end of an open stream, joined and judged as `run` judges a streamed answer.

use super::*;

impl Follow {
    /// A chunk or end of an open stream: its findings (none for a chunk followed). `None` when
    /// the message is no part of any documented stream.
    pub(super) fn stream_frame(
        &mut self,
        ctx: &Context,
        connection: u64,
        at: Duration,
        message: &str,
        frame: &Value,
    ) -> Option<Vec<Finding>> {
        let description = &ctx.description;
        let part_of = |s: &OpenStream| {
            stream_form(&description.exchanges[s.exchange], s.form)
                .is_some_and(|f| f.chunk == message || f.end == message)
        };
        let candidates: Vec<usize> = (0..self.streams.len())
            .filter(|&k| part_of(&self.streams[k]))
            .collect();
        let Some(&first) = candidates.first() else {
            // A chunk or end while no stream is open: a reply to nothing.
            let (i, j, stream) =
                description
                    .exchanges
                    .iter()
                    .enumerate()
                    .find_map(|(i, exchange)| {
                        exchange
                            .replies
                            .iter()
                            .enumerate()
                            .find_map(|(j, r)| match r {
                                ReplyForm::Stream(s) if s.chunk == message || s.end == message => {
                                    Some((i, j, s))
                                }
                                _ => None,
                            })
                    })?;
            let mut finding = Finding::new(connection, at, Direction::Server, Severity::Info)
                .citing(
                    &stream.rule,
                    format!("/exchanges/{i}/replies/{j}/stream/rule"),
                );
            finding.message = Some(message.to_string());
            finding.finding = format!(
                "a `{message}` while no `{}`…`{}` stream is open on this connection (another's \
                 delivered here, as a subscription does, or a stream the watch did not see open)",
                stream.start, stream.end
            );
            finding.frame = Some(crate::util::shorten(frame));
            return Some(vec![finding]);
        };
        let chosen = candidates
            .iter()
            .copied()
            .find(|&k| {
                let s = &self.streams[k];
                let form = stream_form(&description.exchanges[s.exchange], s.form);
                form.is_some_and(|f| frame.pointer(&f.stream_id) == s.id.as_ref())
            })
            .unwrap_or(first);
        let open = &mut self.streams[chosen];
        let exchange = &description.exchanges[open.exchange];
        let stream = stream_form(exchange, open.form).expect("a stream form");
        let level = Severity::from(stream.rule.level);
        let budget = ctx.budget_of(open.exchange);
        let cite = |f: judge::Finding, exchange: usize, form: usize| {
            let mut finding = judged(connection, at, Direction::Server, message, f).citing(
                &stream.rule,
                format!("/exchanges/{exchange}/replies/{form}/stream/rule"),
            );
            if finding.severity > Severity::Info {
                finding.frame = Some(crate::util::shorten(frame));
            }
            finding
        };
        if stream.chunk == message {
            let chunk = Chunk::of(stream, frame);
            open.held_bytes += chunk.held_bytes();
            open.chunks.push(chunk);
            if open.chunks.len() <= MAX_STREAM_CHUNKS && open.held_bytes <= MAX_STREAM_HELD_BYTES {
                return Some(Vec::new());
            }
            let open = self.streams.remove(chosen);
            let findings = judge::answer::stream(
                stream,
                &open.start,
                &open.chunks,
                &StreamEnd::TooLong,
                level,
                budget,
            );
            return Some(
                findings
                    .into_iter()
                    .map(|f| cite(f, open.exchange, open.form))
                    .collect(),
            );
        }
        let open = self.streams.remove(chosen);
        let findings = judge::answer::stream(
            stream,
            &open.start,
            &open.chunks,
            &StreamEnd::Ended(frame.clone()),
            level,
            budget,
        );
        self.last_answer = Some(LastAnswer::new(exchange.request.clone(), message, at));
        Some(
            findings
                .into_iter()
                .map(|f| cite(f, open.exchange, open.form))
                .collect(),
        )
    }
}
