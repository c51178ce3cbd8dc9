#!/usr/bin/env bash
# Fetches the open, offline IP -> country and IP -> ASN data that `phonehome` reads (crates/report/src/geo.rs)
# from the npm registry (`npm pack`, no global install) into data/geo/ at the repository root, and
# compiles the ASN CSV once into the binary range table phonehome loads in milliseconds (parsing
# the 33 MB CSV took a quarter of a second at every start). Needs npm and cargo.
#
#   scripts/geo-setup.sh            # fetch once; later runs keep what is there
#   scripts/geo-setup.sh --force    # fetch again (a newer npm version, say)
#
# Writes:
#   data/geo/geo-whois-asn-country.mmdb   IPv4+IPv6 -> country (record: country_code)
#   data/geo/asn.bin                      IPv4+IPv6 -> AS number and organisation: a range table
#                                         compiled from the package's asn-ipv4.csv + asn-ipv6.csv by
#                                         `cargo run --release -p report --example geo-compile`
#                                         (format: crates/report/src/geo/asn/table.rs)
#   data/geo/*.source                     one line per data file: package, version, data date, licence
#                                         (Geo::source shows it in reports)
#   data/geo/VERSION                      packages, versions, data dates
#   data/geo/ATTRIBUTION.txt              licences and the attribution they require
#   data/geo/licenses/                    the packages' licence files, as shipped
#
# Never run by the tests or CI: phonehome works without this data (countries and networks then show
# as unknown). Note: the ip-location-db READMEs carry a "CRITICAL NOTICE" that the npm copies contain
# bugs and that npm updates are deprecated; treat the data as a dated, good-enough default, and point
# phonehome at your own MaxMind GeoLite2 / DB-IP mmdb (--geo-db) when it matters.
# ip-location-db's README also lists an ASN mmdb (@ip-location-db/asn-mmdb), but the npm registry
# does not have it (404, 2026-11), hence the compiled table.
set -euo pipefail

COUNTRY_PKG=@ip-location-db/geo-whois-asn-country-mmdb
ASN_PKG=@ip-location-db/asn

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/data/geo"
force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 64 ;;
esac

if [[ $force -eq 0 && -s "$dest/VERSION" && -s "$dest/geo-whois-asn-country.mmdb" && -s "$dest/asn.bin" \
      && -s "$dest/ATTRIBUTION.txt" && -s "$dest/geo-whois-asn-country.mmdb.source" ]]; then
  echo "geo data already present in $dest (use --force to fetch again):"
  cat "$dest/VERSION"
  exit 0
fi

command -v npm >/dev/null || { echo "error: npm is needed to fetch the geo data" >&2; exit 1; }
command -v cargo >/dev/null || { echo "error: cargo is needed to compile the ASN table" >&2; exit 1; }

tmp=$(mktemp -d)
new=
trap 'rm -rf "$tmp" ${new:+"$new"}' EXIT
cd "$tmp"

echo "fetching $COUNTRY_PKG and $ASN_PKG from the npm registry..." >&2
npm pack --silent "$COUNTRY_PKG" "$ASN_PKG" >/dev/null
mkdir country asn
tar -xzf ip-location-db-geo-whois-asn-country-mmdb-*.tgz -C country
tar -xzf ip-location-db-asn-*.tgz -C asn

pkg_version() { sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$1" | head -n1; }
# ip-location-db versions end in the data's build time: 2.3.YYYYMMDDHH.
data_date() {
  local b=${1##*.}
  if [[ $b =~ ^[0-9]{10}$ ]]; then echo "${b:0:4}-${b:4:2}-${b:6:2}"; else echo unknown; fi
}

cv=$(pkg_version country/package/package.json)
av=$(pkg_version asn/package/package.json)
cd_=$(data_date "$cv")
ad=$(data_date "$av")

for f in country/package/geo-whois-asn-country.mmdb asn/package/asn-ipv4.csv asn/package/asn-ipv6.csv; do
  [[ -s $f ]] || { echo "error: $f missing from the npm package" >&2; exit 1; }
done

# Build the new tree next to the old one, then swap, so an interrupted run leaves no half state.
new="$dest.new.$$"
rm -rf "$new"
mkdir -p "$new/licenses"
cp country/package/geo-whois-asn-country.mmdb "$new/"
cat asn/package/asn-ipv4.csv asn/package/asn-ipv6.csv > asn.csv
echo "compiling the ASN table (cargo builds the report crate's geo-compile example)..." >&2
cargo run --quiet --release --manifest-path "$root/Cargo.toml" -p report --example geo-compile -- \
  asn.csv "$new/asn.bin" || { echo "error: compiling the ASN table failed" >&2; exit 1; }
cp country/package/NRO_LICENSE "$new/licenses/country-NRO_LICENSE"
for f in DBIP-LICENSE ROUTEVIEWS-LICENSE NRO_LICENSE MODIFICATIONS; do
  if [[ -f asn/package/$f ]]; then cp "asn/package/$f" "$new/licenses/asn-$f"; fi
done
echo "$COUNTRY_PKG $cv (data $cd_; CC0-1.0, NRO data CC BY 4.0)" > "$new/geo-whois-asn-country.mmdb.source"
echo "$ASN_PKG $av (data $ad; CC BY 4.0: RouteViews, DB-IP, NRO)" > "$new/asn.bin.source"

cat > "$new/VERSION" <<V
country: $COUNTRY_PKG $cv (data $cd_) -> geo-whois-asn-country.mmdb
asn:     $ASN_PKG $av (data $ad) -> asn.bin (asn-ipv4.csv + asn-ipv6.csv, compiled by geo-compile)
fetched: $(date -u +%Y-%m-%dT%H:%M:%SZ) from the npm registry
notice:  the upstream READMEs warn that the npm copies contain bugs and that npm updates are
         deprecated; this is a dated default. Use --geo-db with your own mmdb for better data.
V

cat > "$new/ATTRIBUTION.txt" <<A
IP geolocation and network data used by phonehome
==================================================

Country: $COUNTRY_PKG $cv, data of $cd_ (https://github.com/sapics/ip-location-db)
  Licence: CC0-1.0 (package). Built from the NRO delegation statistics, which NRO licenses under
  CC BY 4.0: "The statistics data provided by NRO is licensed under a Creative Commons Attribution
  4.0 International License. Copyright Holder: Number Resource Organization (NRO)" -- attribution
  to nro.net.

ASN and network owner: $ASN_PKG $av, data of $ad (https://github.com/sapics/ip-location-db)
  Licence: CC BY 4.0 (attribution required), from
  - RouteViews IP to AS Number data: attribution to routeviews.org;
  - the DB-IP IP to ASN Lite database: "IP Geolocation by DB-IP" with a link to https://db-ip.com
    on web pages (HTML reports) that show results from it;
  - NRO / RIR delegation data: attribution to nro.net.
  Modified by ip-location-db (merged RouteViews > RIRs > DB-IP), and by phonehome (converted to
  a binary range table, asn.bin; overlapping ranges clipped, adjacent ranges of one network
  merged, organisation names cleaned of control characters). Licence texts: licenses/.

Upstream notice: the data published to npm is reported by its author to contain bugs, and npm
updates are deprecated. Reports show the data date above.
A

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$new" "$dest"

echo "geo data installed in $dest:"
cat "$dest/VERSION"
echo "licences: country CC0-1.0 (NRO data CC BY 4.0); ASN CC BY 4.0 (RouteViews, DB-IP, NRO): see $dest/ATTRIBUTION.txt"
