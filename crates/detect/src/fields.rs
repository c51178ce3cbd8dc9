//! Where to look: the places in protocol events that can carry personal data, as [`Field`]s
//! (being written: extraction functions follow the types below).

use std::borrow::Cow;

/// A piece of bytes to search, with where it came from and how it was decoded to get here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    /// Where the bytes are, in the output vocabulary: `http.uri`, `http.query:<key>`,
    /// `http.header:<name lower-case>`, `http.cookie:<name>`, `http.form:<key>`,
    /// `http.multipart:<part name>`, `http.json:<dotted.path>`, `http.body`, `dns.qname`, `tls.sni`,
    /// `quic.sni`, `tcp.payload`, `udp.payload`. Nested fields append to their parent's location
    /// (`http.form:data>json:phone`).
    pub location: String,
    /// Decodings applied, outermost first, to get from the wire bytes to `data` (e.g.
    /// `["gzip", "base64"]`); empty for bytes as sent.
    pub decoded: Vec<&'static str>,
    /// The bytes.
    pub data: Cow<'a, [u8]>,
}

impl Field<'_> {
    /// The key this field's value was found under (the part of `location` after the last `:`),
    /// lower-case as given; `None` for locations without a key (`http.uri`, `http.body`...).
    pub fn key(&self) -> Option<&str> {
        self.location.rsplit_once(':').map(|(_, k)| k).filter(|k| !k.is_empty())
    }
}
