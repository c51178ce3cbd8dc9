//! A small synchronous Chrome DevTools Protocol client: one WebSocket (plain `ws://`, loopback) to
//! the browser endpoint, page sessions attached with `flatten` on that same socket, calls matched
//! to their answers by id, and every event queued until the test asks for it.
//!
//! Every read polls with a short socket timeout, so every wait here has a deadline and ends with
//! an error naming what it waited for, never hangs.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// How long one socket read blocks before the caller checks its deadline again.
const POLL: Duration = Duration::from_millis(50);

/// One protocol event: `method`, the session it came from (`None`: the browser), `params`.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) method: String,
    pub(crate) session: Option<String>,
    pub(crate) params: Value,
}

pub(crate) struct Cdp {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    events: VecDeque<Event>,
    timeout: Duration,
}

impl Cdp {
    /// Connects to a DevTools WebSocket URL (`ws://127.0.0.1:PORT/devtools/browser/ID`);
    /// `timeout` bounds the connection and, later, each call.
    pub(crate) fn connect(url: &str, timeout: Duration) -> Result<Self, String> {
        let authority = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| format!("not a ws:// URL: {url}"))?;
        let addr = authority
            .to_socket_addrs()
            .map_err(|e| format!("{authority}: {e}"))?
            .next()
            .ok_or_else(|| format!("{authority}: no address"))?;
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
        stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (ws, _response) = tungstenite::client(url, stream)
            .map_err(|e| format!("WebSocket handshake with {url}: {e}"))?;
        ws.get_ref().set_read_timeout(Some(POLL)).map_err(|e| e.to_string())?;
        Ok(Self { ws, next_id: 1, events: VecDeque::new(), timeout })
    }

    /// Sends `method` (to the page `session`, or to the browser) and waits for its result; events
    /// read meanwhile are queued.
    pub(crate) fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            request["sessionId"] = json!(session);
        }
        self.ws
            .send(Message::text(request.to_string()))
            .map_err(|e| format!("{method}: sending: {e}"))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            if Instant::now() > deadline {
                return Err(format!("{method}: no answer within {:?}", self.timeout));
            }
            let Some(mut message) = self.read().map_err(|e| format!("{method}: {e}"))? else {
                continue;
            };
            if message["id"].as_u64() == Some(id) {
                if let Some(error) = message.get("error") {
                    return Err(format!("{method}: {error}"));
                }
                return Ok(message["result"].take());
            }
            self.queue(message);
        }
    }

    /// Waits for the first event `method` of `session` (queued or still to come) and takes it out
    /// of the queue; other events stay queued.
    pub(crate) fn wait_for(
        &mut self,
        session: Option<&str>,
        method: &str,
        timeout: Duration,
    ) -> Result<Event, String> {
        let matches = |e: &Event| e.method == method && e.session.as_deref() == session;
        if let Some(i) = self.events.iter().position(matches) {
            return Ok(self.events.remove(i).expect("position is in the queue"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            if Instant::now() > deadline {
                return Err(format!("no {method} event within {timeout:?}"));
            }
            if let Some(message) = self.read().map_err(|e| format!("waiting for {method}: {e}"))? {
                self.queue(message);
                if self.events.back().is_some_and(matches) {
                    return Ok(self.events.pop_back().expect("just matched"));
                }
            }
        }
    }

    /// Reads and queues whatever arrives during `duration` (lets late events of a page land).
    pub(crate) fn pump(&mut self, duration: Duration) -> Result<(), String> {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            if let Some(message) = self.read()? {
                self.queue(message);
            }
        }
        Ok(())
    }

    /// Every event queued so far, oldest first; the queue is left empty.
    pub(crate) fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    /// One message, or `None` when none arrived within [`POLL`] (or it was a control frame).
    fn read(&mut self) -> Result<Option<Value>, String> {
        match self.ws.read() {
            Ok(Message::Text(text)) => serde_json::from_str(text.as_str())
                .map(Some)
                .map_err(|e| format!("bad JSON from the browser: {e}")),
            Ok(Message::Close(frame)) => {
                Err(format!("the browser closed the connection ({frame:?})"))
            }
            Ok(_) => Ok(None),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                Ok(None)
            }
            Err(e) => Err(format!("reading from the browser: {e}")),
        }
    }

    /// Queues an event; answers to calls nobody waits for any more are dropped.
    fn queue(&mut self, mut message: Value) {
        if let Some(method) = message["method"].as_str() {
            self.events.push_back(Event {
                method: method.to_string(),
                session: message["sessionId"].as_str().map(str::to_string),
                params: message["params"].take(),
            });
        }
    }
}
