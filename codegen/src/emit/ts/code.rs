//! Indented TypeScript statements, with fresh names for the locals they declare.

/// Statements being written.
pub struct Code {
    text: String,
    depth: usize,
    declared: usize,
}

impl Code {
    /// Statements of a function body (one level in).
    pub fn body() -> Self {
        Self {
            text: String::new(),
            depth: 1,
            declared: 0,
        }
    }

    /// A statement on a line of its own.
    pub fn line(&mut self, statement: &str) {
        for _ in 0..self.depth {
            self.text.push_str("  ");
        }
        self.text.push_str(statement);
        self.text.push('\n');
    }

    /// A line that opens a block: what follows is indented until [`Code::close`].
    pub fn open(&mut self, line: &str) {
        self.line(line);
        self.depth += 1;
    }

    /// Closes the block [`Code::open`] opened.
    pub fn close(&mut self) {
        self.depth -= 1;
        self.line("}");
    }

    /// Indents what follows (a `case` clause's statements) until [`Code::outdent`].
    pub fn indent(&mut self) {
        self.depth += 1;
    }

    /// Ends what [`Code::indent`] began.
    pub fn outdent(&mut self) {
        self.depth -= 1;
    }

    /// A name no local of this body has: `prefix` and a number.
    pub fn fresh(&mut self, prefix: &str) -> String {
        self.declared += 1;
        format!("{prefix}{}", self.declared)
    }

    /// The statements written.
    pub fn into_text(self) -> String {
        self.text
    }
}
