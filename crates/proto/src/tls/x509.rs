//! The subject and issuer names of the server's certificate: who the certificate says runs the
//! server, for a destination no database knows.
//!
//! Contract: [`certificate_message`] reads a TLS 1.0-1.2 Certificate handshake message body
//! (a 24-bit list length, then 24-bit-length DER certificates) and returns the names of the first
//! (the server's own) certificate; [`names`] reads one DER X.509 certificate. Only the fields on
//! the way are walked (tbsCertificate: optional version, serial, signature algorithm, issuer,
//! validity, subject): a small DER reader, bounds-checked, definite lengths of at most four
//! bytes, nothing allocated but the strings returned (at most [`MAX_NAME_LEN`] bytes each,
//! control characters replaced). Anything malformed gives `None`; nothing panics.
//!
//! Why not `x509-parser`: it parses and allocates the whole certificate (extensions, keys) to
//! read three strings, and brings `der-parser`, `nom`, `asn1-rs` and time crates with it.

use super::reader::Reader;
use crate::CertNames;

/// Longest name kept, in bytes (longer ones are cut at a character boundary).
pub const MAX_NAME_LEN: usize = 256;

/// OID 2.5.4.3, commonName.
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
/// OID 2.5.4.10, organizationName.
const OID_O: &[u8] = &[0x55, 0x04, 0x0a];

/// The names of the first certificate of a Certificate message body.
pub fn certificate_message(body: &[u8]) -> Option<CertNames> {
    let mut r = Reader::new(body);
    let list_len = r.u24()? as usize;
    let list = r.take(list_len)?;
    let mut l = Reader::new(list);
    let first_len = l.u24()? as usize;
    names(l.take(first_len)?)
}

/// The names of the first certificate of a TLS 1.3 Certificate message body (a one-byte-length
/// request context first; each entry's extensions follow its certificate).
pub fn certificate13_message(body: &[u8]) -> Option<CertNames> {
    let mut r = Reader::new(body);
    r.u8_prefixed()?;
    let list_len = r.u24()? as usize;
    let mut l = Reader::new(r.take(list_len)?);
    let first_len = l.u24()? as usize;
    names(l.take(first_len)?)
}

/// The subject's organisation and common name and the issuer's organisation of one DER
/// certificate.
pub fn names(der: &[u8]) -> Option<CertNames> {
    let (cert, _) = tlv(der, 0x30)?;
    let (tbs, _) = tlv(cert, 0x30)?;
    let mut rest = tbs;
    // version [0] EXPLICIT, optional.
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest, 0xa0)?.1;
    }
    rest = tlv(rest, 0x02)?.1; // serialNumber
    rest = tlv(rest, 0x30)?.1; // signature AlgorithmIdentifier
    let (issuer, after) = tlv(rest, 0x30)?;
    rest = tlv(after, 0x30)?.1; // validity
    let (subject, _) = tlv(rest, 0x30)?;
    Some(CertNames {
        subject_org: attribute(subject, OID_O),
        subject_cn: attribute(subject, OID_CN),
        issuer_org: attribute(issuer, OID_O),
    })
}

/// The first value of attribute `oid` in a Name (SEQUENCE OF SET OF AttributeTypeAndValue).
fn attribute(name: &[u8], oid: &[u8]) -> Option<String> {
    let mut rdns = name;
    while !rdns.is_empty() {
        let (set, next) = tlv(rdns, 0x31)?;
        rdns = next;
        let mut atvs = set;
        while !atvs.is_empty() {
            let (atv, next) = tlv(atvs, 0x30)?;
            atvs = next;
            let (typ, value) = tlv(atv, 0x06)?;
            if typ == oid {
                return string(value);
            }
        }
    }
    None
}

/// A DirectoryString value as text: UTF8String, PrintableString, IA5String, TeletexString (read
/// as Latin-1), BMPString (UTF-16BE).
fn string(v: &[u8]) -> Option<String> {
    let tag = *v.first()?;
    let (body, _) = tlv(v, tag)?;
    let text: String = match tag {
        0x0c | 0x13 | 0x16 => String::from_utf8_lossy(body).into_owned(),
        0x14 => body.iter().map(|&b| char::from(b)).collect(),
        0x1e => {
            let units = body.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
        }
        _ => return None,
    };
    let mut out = String::new();
    for c in text.trim().chars() {
        if out.len() + c.len_utf8() > MAX_NAME_LEN {
            break;
        }
        out.push(if c.is_control() { '\u{fffd}' } else { c });
    }
    (!out.is_empty()).then_some(out)
}

/// One DER element with tag `tag` at the start of `data`: its contents and what follows it.
fn tlv(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = data.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None; // indefinite or absurd lengths
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if len > rest.len() {
        return None;
    }
    Some(rest.split_at(len))
}

#[cfg(test)]
mod tests;
