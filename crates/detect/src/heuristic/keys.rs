//! Telling keys: how a key name is classified, and how the key written just before a value is
//! found in raw bytes (`key=value`, `"key":"value"`, `key: value`, `<key>value`).
//!
//! A key is split into words at every non-alphanumeric byte and at lower-to-upper case changes
//! (`_android_id`, `androidId`, `X-Android-ID` all give `android`, `id`), trailing all-digit words
//! are dropped (`imei1`, `imei_2`), and the key is classified by the first of these forms found in
//! the word table: all words joined (`androidid`), the last two words joined, the last word. So
//! `device_imei` and `wifiMac` are telling keys while `mobile_type` and `timeInterval` are not.

/// Bit set of what a key tells about its value.
pub(super) type Classes = u32;

/// An IMEI key (`imei`, `imeisv`, `meid`).
pub(super) const IMEI: Classes = 1 << 0;
/// A generic device-id key (`did`, `deviceid`, `udid`): an IMEI, an Android ID or a UUID.
pub(super) const DEVICE_ID: Classes = 1 << 1;
/// An IMSI key.
pub(super) const IMSI: Classes = 1 << 2;
/// An ICCID key.
pub(super) const ICCID: Classes = 1 << 3;
/// A MAC address key.
pub(super) const MAC: Classes = 1 << 4;
/// A phone-number key (`phone`, `msisdn`, `tel`, `mobile`).
pub(super) const PHONE: Classes = 1 << 5;
/// A weak phone-number key (`number`, `num`): only `+` numbers are accepted.
pub(super) const PHONE_WEAK: Classes = 1 << 6;
/// An advertising-id key (`gaid`, `adid`, `idfa`).
pub(super) const ADID: Classes = 1 << 7;
/// An Android ID key (`android_id`, `aid`, `ssaid`).
pub(super) const ANDROID_ID: Classes = 1 << 8;
/// A latitude key.
pub(super) const LAT: Classes = 1 << 9;
/// A longitude key.
pub(super) const LON: Classes = 1 << 10;
/// A key whose value is a `lat,lon` pair (`latlng`, `location`, `ll`).
pub(super) const LATLON: Classes = 1 << 11;
/// A serial-number key.
pub(super) const SERIAL: Classes = 1 << 12;
/// An address-book key.
pub(super) const CONTACTS: Classes = 1 << 13;
/// An e-mail key.
pub(super) const EMAIL: Classes = 1 << 14;
/// The key name alone is telling enough for a `key-name` hit.
pub(super) const NAMED: Classes = 1 << 15;

/// Longest key considered, in bytes.
const MAX_KEY: usize = 40;
/// Most words kept from one key.
const MAX_WORDS: usize = 8;

/// The word table: normalised (lower-case alphanumeric) word or joined form -> classes.
fn word(w: &[u8]) -> Classes {
    match w {
        b"imei" | b"imeis" | b"imeisv" | b"meid" | b"deviceimei" | b"imeinumber" => IMEI | NAMED,
        // `vaid`, `idfv`: vendor ids (MSA, iOS); the install ids of Firebase, Kochava and
        // Branch. (`uid` is left out: mostly a user's number, which the IMEI check would misread.)
        b"did"
        | b"deviceid"
        | b"devid"
        | b"udid"
        | b"duid"
        | b"uniqueid"
        | b"vaid"
        | b"idfv"
        | b"hardwareid"
        | b"kochavadeviceid"
        | b"appinstanceid"
        | b"firebaseinstanceid"
        | b"deviceuuid" => DEVICE_ID,
        b"imsi" | b"imsis" | b"subscriberid" => IMSI | NAMED,
        b"iccid" | b"iccids" | b"simserial" | b"simserialnumber" | b"simid" => ICCID | NAMED,
        b"mac" | b"ethaddr" | b"lanmac" => MAC,
        b"macaddr" | b"macaddress" | b"wifimac" | b"wlanmac" | b"btmac" | b"bluetoothmac"
        | b"bssid" | b"hwaddr" | b"hwaddress" | b"wifimacaddress" | b"devicemac" => MAC | NAMED,
        b"msisdn" | b"phonenumber" | b"phonenum" | b"phoneno" | b"line1number"
        | b"mobilenumber" | b"mobileno" | b"mdn" | b"cellphone" | b"telephone" | b"telnum"
        | b"telno" => PHONE | NAMED,
        b"phone" | b"mobile" | b"tel" | b"mobilephone" => PHONE,
        b"number" | b"num" => PHONE_WEAK,
        // The names the mobile SDKs document for the ids they send: Adjust
        // `gps_adid`, `fire_adid`; Singular `aifa`; Google Mobile Ads `rdid`; Unity
        // `advertisingTrackingId`; Branch `google_advertising_id`; MSA and
        // Huawei `oaid`; Amazon `amazon_aid`.
        b"gaid"
        | b"idfa"
        | b"advertisingid"
        | b"aaid"
        | b"googleadid"
        | b"googleaid"
        | b"advertiserid"
        | b"gpsadid"
        | b"fireadid"
        | b"aifa"
        | b"rdid"
        | b"advertisingtrackingid"
        | b"googleadvertisingid"
        | b"oaid"
        | b"amazonaid"
        | b"amazonadvertisingid" => ADID | NAMED,
        // `adid` is also an ad's (campaign's) id: `mt_adid=106535`; `gpid` InMobi's Google Play
        // id but also the IAB's placement id; `advid` ironSource's advertising id but also an
        // advertiser's number (`advid=1316378`): their values must look like an id.
        b"adid" | b"ifa" | b"gpid" | b"advid" => ADID,
        // `andi`: Singular's Android ID.
        b"androidid" | b"ssaid" | b"androiddeviceid" | b"andi" => ANDROID_ID | NAMED,
        b"aid" => ANDROID_ID,
        b"lat" | b"latitude" => LAT,
        b"lon" | b"lng" | b"long" | b"longitude" => LON,
        b"latlng" | b"latlon" | b"latlong" | b"ll" | b"location" | b"loc" | b"geo" | b"coords"
        | b"coordinates" | b"gps" => LATLON,
        b"serial" | b"serialno" | b"serialnumber" | b"deviceserial" | b"buildserial" => {
            SERIAL | NAMED
        }
        b"contacts" | b"addressbook" | b"contactlist" | b"phonebook" => CONTACTS | NAMED,
        b"email" | b"emailaddress" | b"useremail" => EMAIL | NAMED,
        // `mail` alone is too common (`mail:x:8:8:mail:/var/mail`).
        b"mail" => EMAIL,
        _ => 0,
    }
}

/// Short words that tell only when they are the whole key: as the last word of a longer key they
/// are too often something else (`xmp.did`, `stack.mac`).
fn whole_only(w: &[u8]) -> bool {
    matches!(
        w,
        b"did"
            | b"aid"
            | b"mac"
            | b"tel"
            | b"ifa"
            | b"ll"
            | b"loc"
            | b"geo"
            | b"gps"
            | b"num"
            | b"mdn"
            | b"sn"
            | b"andi"
    )
}

/// Entries of the per-thread memo of [`classify`] (direct-mapped by a hash of the key).
const MEMO_SLOTS: usize = 64;

/// A remembered classification: the key as written, its length, its classes, and its head and
/// tail words ([`words`]), which are the whole key when it is at most 16 bytes long.
#[derive(Clone, Copy)]
struct MemoSlot {
    key: [u8; MAX_KEY],
    len: u8,
    classes: Classes,
    head: u64,
    tail: u64,
}

/// Remembered classifications, direct-mapped by the key's [`words`]. Keys repeat: every object
/// of a JSON array has the same ones, every request the same query and header names. A slot
/// with `len` 0 is empty (the empty key is never stored).
#[derive(Clone)]
pub(crate) struct Memo([MemoSlot; MEMO_SLOTS]);

impl Default for Memo {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl Memo {
    const EMPTY: Self =
        Self([MemoSlot { key: [0; MAX_KEY], len: 0, classes: 0, head: 0, tail: 0 }; MEMO_SLOTS]);

    /// [`classify`], remembered here.
    pub(crate) fn classify(&mut self, key: &[u8]) -> Classes {
        let n = key.len();
        if n == 0 || n > MAX_KEY {
            return 0;
        }
        let (head, tail) = words(key);
        let h = (head ^ tail.rotate_left(29) ^ n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let e = &mut self.0[(h >> 58) as usize % MEMO_SLOTS];
        // Up to 16 bytes the two words are the key: no byte comparison.
        if usize::from(e.len) == n
            && e.head == head
            && e.tail == tail
            && (n <= 16 || e.key[8..n - 8] == key[8..n - 8])
        {
            return e.classes;
        }
        let classes = classify_uncached(key);
        *e = MemoSlot { key: e.key, len: n as u8, classes, head, tail };
        e.key[..n].copy_from_slice(key);
        classes
    }
}

/// A key's first and last eight bytes as words (one word of all its bytes when it is shorter
/// than eight): constant time, and with the length they tell keys of up to 16 bytes apart.
fn words(key: &[u8]) -> (u64, u64) {
    match (key.first_chunk::<8>(), key.last_chunk::<8>()) {
        (Some(h), Some(t)) => (u64::from_le_bytes(*h), u64::from_le_bytes(*t)),
        _ => {
            let w = key.iter().fold(0u64, |w, &x| w << 8 | u64::from(x));
            (w, w)
        }
    }
}

thread_local! {
    /// The memo of keys found in the bytes ([`classify`]); a [`super::Scanner`] keeps its own
    /// for the fields' keys.
    static MEMO: std::cell::RefCell<Memo> = const { std::cell::RefCell::new(Memo::EMPTY) };
}

/// Classifies a key (as written: any case, any separators). Keys longer than [`MAX_KEY`] bytes
/// tell nothing. Remembered per thread ([`MEMO_SLOTS`]).
pub(super) fn classify(key: &[u8]) -> Classes {
    MEMO.with_borrow_mut(|m| m.classify(key))
}

/// [`classify`] without the memo (`key` is 1..=[`MAX_KEY`] bytes). A key path
/// (`a.b.advertisingTrackingId`, `deviceIds[AID]`, `device_ids.gaid`) is named by its last
/// segment; a word that tells only as a whole key (`aid`, `did`) counts there only when the
/// segment before names a set of ids (`deviceIds`, `u-id-map`) or the segment is a bracketed
/// map key (`deviceIds[AID]`, and the typed pairs of `fields`: `ids.value[aid]`): `xmp.did` is
/// no device id. Otherwise the key is classified whole.
pub(super) fn classify_uncached(key: &[u8]) -> Classes {
    if let Some((parent, last)) = split_path(key) {
        // `attributes.$gpsAdId.value`: a value wrapper is named by its parent.
        let (norm, n) = normalized(last);
        if matches!(&norm[..n], b"value" | b"val" | b"v") && !key.ends_with(b"]") {
            return classify_uncached(parent);
        }
        let c = classify_words(last);
        let (norm, n) = normalized(last);
        let bracketed = key.ends_with(b"]");
        if c != 0 && (!whole_only(&norm[..n]) || bracketed || names_ids(parent)) {
            return c;
        }
    }
    classify_words(key)
}

/// `(parent, last segment)` of a key path split at `.`, `[` or `]`; `None` for a plain key.
fn split_path(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let sep = |b: &u8| matches!(b, b'.' | b'[' | b']');
    let trimmed = key.strip_suffix(b"]").unwrap_or(key);
    let at = trimmed.iter().rposition(sep)?;
    let (parent, last) = (&trimmed[..at], &trimmed[at + 1..]);
    (!last.is_empty() && !parent.is_empty()).then_some((parent, last))
}

/// The lower-case alphanumeric bytes of `s` (at most [`MAX_KEY`]).
fn normalized(s: &[u8]) -> ([u8; MAX_KEY], usize) {
    let mut buf = [0u8; MAX_KEY];
    let mut n = 0;
    for &b in s.iter().filter(|b| b.is_ascii_alphanumeric()).take(MAX_KEY) {
        buf[n] = b.to_ascii_lowercase();
        n += 1;
    }
    (buf, n)
}

/// Whether the last segment of `parent` names a set of identifiers or the device (OpenRTB's
/// `device.ifa`, AppLovin's `device_info.ifa`).
fn names_ids(parent: &[u8]) -> bool {
    let seg = split_path(parent).map_or(parent, |(_, last)| last);
    let (norm, n) = normalized(seg);
    let s = &norm[..n];
    s.ends_with(b"ids")
        || s.ends_with(b"idmap")
        || s.ends_with(b"identifiers")
        || matches!(s, b"id" | b"device" | b"deviceinfo" | b"devicedata")
}

/// The word-table classification of a whole key (see the module documentation).
fn classify_words(key: &[u8]) -> Classes {
    if key.is_empty() || key.len() > MAX_KEY {
        return 0;
    }
    let mut buf = [0u8; MAX_KEY];
    let mut len = 0;
    // Start offset of each word in `buf`.
    let mut words = [0usize; MAX_WORDS];
    let mut nwords = 0;
    let mut prev: u8 = 0;
    let mut new_word = true;
    for &b in key {
        if !b.is_ascii_alphanumeric() {
            new_word = true;
            prev = b;
            continue;
        }
        if prev.is_ascii_lowercase() && b.is_ascii_uppercase() {
            new_word = true;
        }
        if new_word {
            if nwords == MAX_WORDS {
                return 0;
            }
            words[nwords] = len;
            nwords += 1;
            new_word = false;
        }
        buf[len] = b.to_ascii_lowercase();
        len += 1;
        prev = b;
    }
    // Drop trailing all-digit words (`imei1`, `imei_2` is `imei` `2`).
    while nwords > 0 && buf[words[nwords - 1]..len].iter().all(u8::is_ascii_digit) {
        len = words[nwords - 1];
        nwords -= 1;
    }
    // `imei1`: digits ending a word with letters are a counter, not part of the name.
    while nwords > 0 && len > words[nwords - 1] + 1 && buf[len - 1].is_ascii_digit() {
        len -= 1;
    }
    if nwords == 0 || len == 0 {
        return 0;
    }
    // Words join only when each is a real word (`a_aid` is not `aaid`).
    let ends = |k: usize| if k + 1 < nwords { words[k + 1] } else { len };
    let short = (0..nwords).any(|k| ends(k) - words[k] < 2);
    let joined = if nwords == 1 || !short { word(&buf[..len]) } else { 0 };
    if joined != 0 {
        return joined;
    }
    if nwords >= 2 && ends(nwords - 2) - words[nwords - 2] >= 2 && len - words[nwords - 1] >= 2 {
        let pair = word(&buf[words[nwords - 2]..len]);
        if pair != 0 {
            return pair;
        }
    }
    let last = &buf[words[nwords - 1]..len];
    if whole_only(last) { 0 } else { word(last) }
}

/// Whether `b` can be part of a key name.
fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// Steps back over one opening quote (`"`, `'`, `\"`, `%22`) ending at `i` (exclusive).
fn skip_quote_back(data: &[u8], i: usize) -> usize {
    if i >= 2 && data[i - 1] == b'"' && data[i - 2] == b'\\' {
        return i - 2;
    }
    if i >= 1 && matches!(data[i - 1], b'"' | b'\'') {
        return i - 1;
    }
    if i >= 3 && data[i - 3] == b'%' && data[i - 2] == b'2' && data[i - 1] == b'2' {
        return i - 3;
    }
    i
}

/// Steps back over up to four spaces or tabs.
fn skip_space_back(data: &[u8], mut i: usize) -> usize {
    let stop = i.saturating_sub(4);
    while i > stop && matches!(data[i - 1], b' ' | b'\t') {
        i -= 1;
    }
    i
}

/// The key name ending at `end` (exclusive): the longest run of key bytes, at most [`MAX_KEY`].
fn key_back(data: &[u8], end: usize) -> &[u8] {
    let mut i = end;
    let stop = end.saturating_sub(MAX_KEY + 1);
    while i > stop && is_key_byte(data[i - 1]) {
        i -= 1;
    }
    if end - i > MAX_KEY {
        return &[];
    }
    // A key starts at a letter or `_` (numbers before `:` are ports, times, ratios).
    let key = &data[i..end];
    match key.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => key,
        _ => &[],
    }
}

/// The key written just before a value starting at `pos`: `key=`, `key:`, `"key":"`, `key: "`,
/// `key%3D`, `<key>`, `"key":["` (first element of a list). Empty when there is none.
pub(super) fn key_before(data: &[u8], pos: usize) -> &[u8] {
    let pos = pos.min(data.len());
    let mut i = skip_quote_back(data, pos);
    i = skip_space_back(data, i);
    // The first element of a list: `"imeis":["865...`.
    if i > 0 && data[i - 1] == b'[' {
        i = skip_space_back(data, i - 1);
    }
    if i == 0 {
        return &[];
    }
    let sep_end = i;
    let sep = data[i - 1];
    if sep == b'=' || sep == b':' {
        i -= 1;
    } else if sep == b'>' {
        // `<key>value`: the tag name, back to its `<`.
        let k = key_back(data, i - 1);
        let start = i - 1 - k.len();
        return if start >= 1 && data[start - 1] == b'<' { k } else { &[] };
    } else if i >= 3
        && data[i - 3] == b'%'
        && data[i - 2] == b'3'
        && matches!(data[i - 1], b'D' | b'd' | b'A' | b'a')
    {
        i -= 3;
    } else {
        return &[];
    }
    debug_assert!(i < sep_end);
    i = skip_space_back(data, i);
    i = skip_quote_back(data, i);
    key_back(data, i)
}

/// One `key<sep>value` pair found in raw bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pair {
    /// What the key tells.
    pub(super) classes: Classes,
    /// The value's range in the data.
    pub(super) start: usize,
    /// End of the value (exclusive).
    pub(super) end: usize,
}

/// Longest value read after a telling key, in bytes.
const MAX_VALUE: usize = 128;

/// Calls `f` for each `key=value` / `key:value` / `"key":"value"` pair whose key is telling.
/// Linear: one `memchr2` pass for the separators, a bounded look back and forth at each.
pub(super) fn pairs(data: &[u8], mut f: impl FnMut(Pair)) {
    let mut from = 0;
    while let Some(off) = memchr::memchr2(b'=', b':', &data[from..]) {
        let sep = from + off;
        from = sep + 1;
        let k_end = skip_quote_back(data, skip_space_back(data, sep));
        let classes = classify(key_back(data, k_end));
        if classes == 0 {
            continue;
        }
        // The value: after spaces and an opening quote, up to a delimiter.
        let mut v = sep + 1;
        while v < data.len() && v < sep + 5 && matches!(data[v], b' ' | b'\t') {
            v += 1;
        }
        let quoted = v < data.len() && matches!(data[v], b'"' | b'\'');
        if quoted {
            v += 1;
        } else if data[v..].starts_with(b"\\\"") {
            v += 2;
        } else if data[v..].starts_with(b"%22") {
            v += 3;
        }
        let limit = data.len().min(v + MAX_VALUE);
        let mut e = v;
        while e < limit && !is_value_end(data[e], quoted) {
            e += 1;
        }
        // An escaped closing quote ends the value too.
        if e > v && data[e - 1] == b'\\' {
            e -= 1;
        } else if data[v..e].ends_with(b"%22") {
            e -= 3;
        }
        f(Pair { classes, start: v, end: e });
    }
}

/// Whether `b` ends a value (quoted values end at a quote or line end only).
fn is_value_end(b: u8, quoted: bool) -> bool {
    if quoted {
        return matches!(b, b'"' | b'\'' | b'\r' | b'\n' | 0);
    }
    matches!(
        b,
        b'&' | b';'
            | b','
            | b'"'
            | b'\''
            | b'<'
            | b'>'
            | b' '
            | b'\t'
            | b'\r'
            | b'\n'
            | b'}'
            | b']'
            | b')'
            | b'|'
            | 0
    )
}
