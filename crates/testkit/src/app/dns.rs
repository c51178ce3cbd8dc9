//! DNS message encoder (RFC 1035) with name compression.
//!
//! ```
//! use testkit::app::dns::{DnsMessage, DnsRecord, qtype};
//! let q = DnsMessage::query(7, "www.example.com", qtype::A);
//! let r = q.clone().into_response().answers(DnsRecord::chain(
//!     "www.example.com",
//!     &["www.example.com.cdn.net", "edge.cdn.net"],
//!     &["192.0.2.1".parse().unwrap()],
//!     60,
//! ));
//! assert_eq!(r.answers.len(), 3);
//! let bytes = r.encode();
//! assert_eq!(&bytes[..4], &[0, 7, 0x81, 0x80]);
//! ```

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Record / query types.
pub mod qtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Pointer.
    pub const PTR: u16 = 12;
    /// Mail exchange.
    pub const MX: u16 = 15;
    /// Text.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service locator.
    pub const SRV: u16 = 33;
    /// EDNS(0) pseudo-record.
    pub const OPT: u16 = 41;
    /// Service binding.
    pub const SVCB: u16 = 64;
    /// HTTPS service binding.
    pub const HTTPS: u16 = 65;
    /// Any.
    pub const ANY: u16 = 255;
}

/// Header flag bits.
pub mod flags {
    /// Response.
    pub const QR: u16 = 0x8000;
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated.
    pub const TC: u16 = 0x0200;
    /// Recursion desired.
    pub const RD: u16 = 0x0100;
    /// Recursion available.
    pub const RA: u16 = 0x0080;
}

/// Class IN.
pub const CLASS_IN: u16 = 1;

/// Record data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RData {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// A single domain name (CNAME, NS, PTR, DNAME): compressed when the message compresses.
    Name(String),
    /// MX: preference and exchange name.
    Mx(u16, String),
    /// TXT: character strings (each at most 255 bytes).
    Txt(Vec<Vec<u8>>),
    /// Anything else, written as is.
    Raw(Vec<u8>),
}

/// A question.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsQuestion {
    /// Name asked for (trailing dot optional).
    pub name: String,
    /// Query type.
    pub qtype: u16,
    /// Query class (1 = IN; bit 15 is mDNS "unicast response").
    pub qclass: u16,
}

/// A resource record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsRecord {
    /// Owner name.
    pub name: String,
    /// Record type.
    pub rtype: u16,
    /// Class (for OPT: the UDP payload size).
    pub class: u16,
    /// Time to live (for OPT: extended rcode and flags).
    pub ttl: u32,
    /// Data.
    pub data: RData,
}

impl DnsRecord {
    /// An A record.
    pub fn a(name: &str, ttl: u32, addr: Ipv4Addr) -> Self {
        Self::new(name, qtype::A, ttl, RData::A(addr))
    }

    /// An AAAA record.
    pub fn aaaa(name: &str, ttl: u32, addr: Ipv6Addr) -> Self {
        Self::new(name, qtype::AAAA, ttl, RData::Aaaa(addr))
    }

    /// An A or AAAA record, by the address family.
    pub fn addr(name: &str, ttl: u32, addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => Self::a(name, ttl, a),
            IpAddr::V6(a) => Self::aaaa(name, ttl, a),
        }
    }

    /// A CNAME record: `name` is an alias of `target`.
    pub fn cname(name: &str, ttl: u32, target: &str) -> Self {
        Self::new(name, qtype::CNAME, ttl, RData::Name(target.to_string()))
    }

    /// A PTR record.
    pub fn ptr(name: &str, ttl: u32, target: &str) -> Self {
        Self::new(name, qtype::PTR, ttl, RData::Name(target.to_string()))
    }

    /// A TXT record with one string.
    pub fn txt(name: &str, ttl: u32, text: &[u8]) -> Self {
        Self::new(name, qtype::TXT, ttl, RData::Txt(vec![text.to_vec()]))
    }

    /// A record of any type with raw data.
    pub fn raw(name: &str, rtype: u16, ttl: u32, data: Vec<u8>) -> Self {
        Self::new(name, rtype, ttl, RData::Raw(data))
    }

    /// A record of class IN.
    pub fn new(name: &str, rtype: u16, ttl: u32, data: RData) -> Self {
        Self { name: name.to_string(), rtype, class: CLASS_IN, ttl, data }
    }

    /// The answer section for `qname` through a CNAME chain: `qname` -> `cnames[0]` -> ... ->
    /// last name, which owns one A / AAAA record per address.
    pub fn chain(qname: &str, cnames: &[&str], addrs: &[IpAddr], ttl: u32) -> Vec<Self> {
        let mut out = Vec::with_capacity(cnames.len() + addrs.len());
        let mut owner = qname;
        for c in cnames {
            out.push(Self::cname(owner, ttl, c));
            owner = c;
        }
        out.extend(addrs.iter().map(|a| Self::addr(owner, ttl, *a)));
        out
    }
}

/// A DNS message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsMessage {
    /// Transaction id.
    pub id: u16,
    /// Flags word (QR, opcode, AA, TC, RD, RA, rcode), see [`flags`].
    pub flags: u16,
    /// Question section.
    pub questions: Vec<DnsQuestion>,
    /// Answer section.
    pub answers: Vec<DnsRecord>,
    /// Authority section.
    pub authorities: Vec<DnsRecord>,
    /// Additional section.
    pub additionals: Vec<DnsRecord>,
    /// Compress names (default true).
    pub compress: bool,
}

impl DnsMessage {
    /// A recursive query (RD set) for `name` / `qtype`, class IN.
    pub fn query(id: u16, name: &str, qtype: u16) -> Self {
        Self {
            id,
            flags: flags::RD,
            questions: vec![DnsQuestion { name: name.to_string(), qtype, qclass: CLASS_IN }],
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
            compress: true,
        }
    }

    /// The response to this query: QR and RA set, questions kept, sections emptied (an EDNS
    /// OPT record is kept).
    pub fn into_response(mut self) -> Self {
        self.flags |= flags::QR | flags::RA;
        self.answers.clear();
        self.authorities.clear();
        self.additionals.retain(|r| r.rtype == qtype::OPT);
        self
    }

    /// Adds an answer record.
    pub fn answer(mut self, record: DnsRecord) -> Self {
        self.answers.push(record);
        self
    }

    /// Adds answer records.
    pub fn answers(mut self, records: impl IntoIterator<Item = DnsRecord>) -> Self {
        self.answers.extend(records);
        self
    }

    /// Adds an authority record.
    pub fn authority(mut self, record: DnsRecord) -> Self {
        self.authorities.push(record);
        self
    }

    /// Adds an additional record.
    pub fn additional(mut self, record: DnsRecord) -> Self {
        self.additionals.push(record);
        self
    }

    /// Sets the response code (3 = NXDOMAIN, 2 = SERVFAIL...).
    pub fn rcode(mut self, rcode: u8) -> Self {
        self.flags = (self.flags & !0x000f) | u16::from(rcode & 0x0f);
        self
    }

    /// Adds an EDNS(0) OPT record advertising `udp_size`.
    pub fn with_edns(self, udp_size: u16) -> Self {
        self.additional(DnsRecord {
            name: String::new(),
            rtype: qtype::OPT,
            class: udp_size,
            ttl: 0,
            data: RData::Raw(Vec::new()),
        })
    }

    /// Turns name compression off.
    pub fn uncompressed(mut self) -> Self {
        self.compress = false;
        self
    }

    /// The wire-format message.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder {
            out: Vec::with_capacity(512),
            names: HashMap::new(),
            compress: self.compress,
        };
        let o = &mut e.out;
        o.extend_from_slice(&self.id.to_be_bytes());
        o.extend_from_slice(&self.flags.to_be_bytes());
        for n in [
            self.questions.len(),
            self.answers.len(),
            self.authorities.len(),
            self.additionals.len(),
        ] {
            o.extend_from_slice(&(n as u16).to_be_bytes());
        }
        for q in &self.questions {
            e.name(&q.name);
            e.out.extend_from_slice(&q.qtype.to_be_bytes());
            e.out.extend_from_slice(&q.qclass.to_be_bytes());
        }
        for r in self.answers.iter().chain(&self.authorities).chain(&self.additionals) {
            e.record(r);
        }
        e.out
    }

    /// The message with the 2-byte length prefix used over TCP.
    pub fn encode_tcp(&self) -> Vec<u8> {
        let m = self.encode();
        let mut v = Vec::with_capacity(m.len() + 2);
        v.extend_from_slice(&(m.len() as u16).to_be_bytes());
        v.extend_from_slice(&m);
        v
    }
}

struct Encoder {
    out: Vec<u8>,
    /// Lower-cased name suffix -> offset of its first occurrence.
    names: HashMap<String, u16>,
    compress: bool,
}

impl Encoder {
    fn name(&mut self, name: &str) {
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() {
            self.out.push(0);
            return;
        }
        let labels: Vec<&str> = name.split('.').collect();
        for i in 0..labels.len() {
            let suffix = labels[i..].join(".").to_ascii_lowercase();
            if self.compress {
                if let Some(&off) = self.names.get(&suffix) {
                    self.out.extend_from_slice(&(0xc000 | off).to_be_bytes());
                    return;
                }
                if self.out.len() < 0x3fff {
                    self.names.insert(suffix, self.out.len() as u16);
                }
            }
            let l = labels[i].as_bytes();
            assert!(!l.is_empty() && l.len() <= 63, "bad DNS label {:?} in {name:?}", labels[i]);
            self.out.push(l.len() as u8);
            self.out.extend_from_slice(l);
        }
        self.out.push(0);
    }

    fn record(&mut self, r: &DnsRecord) {
        self.name(&r.name);
        self.out.extend_from_slice(&r.rtype.to_be_bytes());
        self.out.extend_from_slice(&r.class.to_be_bytes());
        self.out.extend_from_slice(&r.ttl.to_be_bytes());
        let len_at = self.out.len();
        self.out.extend_from_slice(&[0, 0]);
        match &r.data {
            RData::A(a) => self.out.extend_from_slice(&a.octets()),
            RData::Aaaa(a) => self.out.extend_from_slice(&a.octets()),
            RData::Name(n) => self.name(n),
            RData::Mx(pref, n) => {
                self.out.extend_from_slice(&pref.to_be_bytes());
                self.name(n);
            }
            RData::Txt(strings) => {
                for s in strings {
                    assert!(s.len() <= 255, "TXT string longer than 255 bytes");
                    self.out.push(s.len() as u8);
                    self.out.extend_from_slice(s);
                }
            }
            RData::Raw(d) => self.out.extend_from_slice(d),
        }
        let rdlen = (self.out.len() - len_at - 2) as u16;
        self.out[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    #[test]
    fn query_bytes() {
        let q = DnsMessage::query(0xabcd, "example.com.", qtype::AAAA).encode();
        assert_eq!(
            q,
            hex("abcd 0100 0001 0000 0000 0000 07 6578616d706c65 03 636f6d 00 001c 0001")
        );
    }

    #[test]
    fn response_with_compressed_cname_chain() {
        let r = DnsMessage::query(1, "www.example.com", qtype::A)
            .into_response()
            .answers(DnsRecord::chain(
                "www.example.com",
                &["cdn.example.com"],
                &["192.0.2.1".parse().unwrap()],
                300,
            ))
            .encode();
        let expect = hex("0001 8180 0001 0002 0000 0000
             03 777777 07 6578616d706c65 03 636f6d 00 0001 0001
             c00c 0005 0001 0000012c 0006 03 63646e c010
             c02d 0001 0001 0000012c 0004 c0000201");
        assert_eq!(r, expect);
        // Same message uncompressed is longer and has no pointers.
        let u = DnsMessage::query(1, "www.example.com", qtype::A)
            .into_response()
            .answer(DnsRecord::a("www.example.com", 1, "1.2.3.4".parse().unwrap()))
            .uncompressed()
            .encode();
        assert_eq!(u.len(), 12 + 21 + (17 + 10 + 4));
        assert!(!u.windows(2).any(|w| w[0] == 0xc0 && w[1] == 0x0c));
    }

    #[test]
    fn edns_txt_tcp_rcode() {
        let m = DnsMessage::query(2, "a.b", qtype::TXT).with_edns(1232);
        let r = m.clone().into_response().rcode(3).answer(DnsRecord::txt("a.b", 5, b"hi"));
        let b = r.encode();
        assert_eq!(&b[2..4], &[0x81, 0x83]);
        assert_eq!(&b[6..12], &[0, 1, 0, 0, 0, 1]);
        // OPT at the end: root name, type 41, class 1232, ttl 0, rdlen 0.
        assert_eq!(&b[b.len() - 11..], &hex("00 0029 04d0 00000000 0000")[..]);
        let t = m.encode_tcp();
        assert_eq!(usize::from(u16::from_be_bytes([t[0], t[1]])), t.len() - 2);
    }
}
