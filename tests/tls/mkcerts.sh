#!/bin/sh
# Makes a throwaway PKI for the TLS tests and benchmarks in DIR (created if needed):
#   ca.pem                  a test CA
#   server.pem server.key   a server certificate signed by it, for 127.0.0.1, ::1 and localhost
#   self.pem self.key       a self-signed certificate for the same names (no CA knows it)
#   other.pem other.key     signed by the test CA but for another name (wrong-host.invalid)
#   server.pin other.pin    "sha256//BASE64" pins of those certificates' public keys
#   server.pub              the server's public key (PEM), a pin file
#   capath/                 the CA in a hashed directory (openssl rehash)
# EC P-256 keys (fast to make), one-day validity. Needs the openssl command.
set -eu
DIR=${1:?usage: mkcerts.sh DIR}
mkdir -p "$DIR"
cd "$DIR"
SSL="openssl"
EC="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
$SSL req -x509 $EC -keyout ca.key -out ca.pem -days 1 -subj "/CN=libnna test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null
leaf() { # name subject-alt-names signed-by-ca(1|0)
    if [ "$3" = 1 ]; then
        $SSL req $EC -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
        printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$2" >"$1.ext"
        $SSL x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
            -extfile "$1.ext" -out "$1.pem" 2>/dev/null
        rm -f "$1.csr" "$1.ext"
    else
        $SSL req -x509 $EC -keyout "$1.key" -out "$1.pem" -days 1 -subj "/CN=$1" \
            -addext "subjectAltName=$2" 2>/dev/null
    fi
}
NAMES="IP:127.0.0.1,IP:::1,DNS:localhost"
leaf server "$NAMES" 1
leaf self "$NAMES" 0
leaf other "DNS:wrong-host.invalid" 1
pin() {
    printf 'sha256//%s\n' "$($SSL x509 -in "$1.pem" -pubkey -noout | $SSL pkey -pubin -outform der |
        $SSL dgst -sha256 -binary | $SSL base64 -A)" >"$1.pin"
}
pin server
pin other
$SSL x509 -in server.pem -pubkey -noout >server.pub
mkdir -p capath
cp ca.pem capath/
$SSL rehash capath 2>/dev/null
