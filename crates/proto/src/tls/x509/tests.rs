use super::*;

/// `openssl req -x509` with `/C=SG/O=Example Analytics Pte. Ltd./CN=api.example-analytics.test`.
const WITH_ORG: &[u8] = include_bytes!("example-org.der");
/// The testkit's certificate, made for rustls: CN `phonehome.test`, no organisation.
const CN_ONLY: &[u8] = include_bytes!("../../../../testkit/data/test-cert.der");

fn message(certs: &[&[u8]]) -> Vec<u8> {
    let mut list = Vec::new();
    for c in certs {
        list.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
        list.extend_from_slice(c);
    }
    let mut m = (list.len() as u32).to_be_bytes()[1..].to_vec();
    m.extend_from_slice(&list);
    m
}

#[test]
fn reads_subject_and_issuer_names() {
    let n = names(WITH_ORG).unwrap();
    assert_eq!(n.subject_org.as_deref(), Some("Example Analytics Pte. Ltd."));
    assert_eq!(n.subject_cn.as_deref(), Some("api.example-analytics.test"));
    assert_eq!(n.issuer_org.as_deref(), Some("Example Analytics Pte. Ltd."));
    let n = names(CN_ONLY).unwrap();
    assert_eq!((n.subject_org, n.subject_cn.as_deref()), (None, Some("phonehome.test")));
    // The first certificate of a chain is the server's.
    let m = message(&[CN_ONLY, WITH_ORG]);
    assert_eq!(certificate_message(&m).unwrap().subject_cn.as_deref(), Some("phonehome.test"));
}

#[test]
fn every_cut_and_flip_is_refused_or_read_without_panic() {
    let m = message(&[WITH_ORG]);
    for cut in 0..m.len() {
        let _ = certificate_message(&m[..cut]);
    }
    assert!(certificate_message(&m[..m.len() - 1]).is_none());
    for at in 0..WITH_ORG.len() {
        for x in [0x01, 0x80, 0xff] {
            let mut d = WITH_ORG.to_vec();
            d[at] ^= x;
            if let Some(n) = names(&d) {
                for s in [n.subject_org, n.subject_cn, n.issuer_org].into_iter().flatten() {
                    assert!(s.len() <= MAX_NAME_LEN && !s.chars().any(char::is_control));
                }
            }
        }
    }
}

#[test]
fn der_lengths_are_checked() {
    assert_eq!(tlv(&[0x30, 0x03, 1, 2, 3, 4], 0x30), Some((&[1u8, 2, 3][..], &[4u8][..])));
    assert_eq!(tlv(&[0x30, 0x81, 0x02, 1, 2], 0x30), Some((&[1u8, 2][..], &[][..])));
    assert_eq!(tlv(&[0x30, 0x80, 0, 0], 0x30), None, "indefinite length");
    assert_eq!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1], 0x30), None, "five length bytes");
    assert_eq!(tlv(&[0x30, 0x04, 1, 2], 0x30), None, "longer than the data");
    assert_eq!(tlv(&[0x31, 0x00], 0x30), None, "another tag");
    // BMPString and TeletexString values; control characters replaced, long names cut.
    assert_eq!(string(&[0x1e, 0x04, 0x00, 0x41, 0x00, 0x42]).as_deref(), Some("AB"));
    assert_eq!(string(&[0x14, 0x02, 0xe9, 0x07]).as_deref(), Some("é\u{fffd}"));
    let long = [&[0x0c, 0x82, 0x01, 0x2c][..], &[b'a'; 300]].concat();
    assert_eq!(string(&long).unwrap().len(), MAX_NAME_LEN);
    assert_eq!(string(&[0x04, 0x01, b'a']), None, "an OCTET STRING is no name");
}
