"""The oracle of shared/tests/phone_oracle.rs: libphonenumber's verdicts, from the PyPI
`phonenumbers` package (the Python port of github.com/google/libphonenumber, same metadata).

Modes (the Rust test runs them; nothing else does):
  meta REGION...   one line per region: region, calling code, whether libphonenumber marks it
                   mobile-number-portable, the example mobile number's national significant
                   number (NSN).
  verdicts         reads `REGION<TAB>NSN<TAB>WRITTEN` lines on stdin; writes one line each:
                   kind, E.164, national format, carrier (English), and the E.164 libphonenumber
                   reads WRITTEN as with REGION as the default region (empty when WRITTEN is).
                   kind is mobile, fixed_or_mobile, not_mobile or invalid, after
                   libphonenumber's getNumberType on the NSN exactly as given.
  unicode          the code points libphonenumber's normalize_digits_only reads as a digit, with
                   that digit and their Unicode general category; then those of category Cf.
"""

import sys
import unicodedata

import phonenumbers
from phonenumbers import PhoneNumberType as T
from phonenumbers import carrier

MOBILE = {T.MOBILE: "mobile", T.FIXED_LINE_OR_MOBILE: "fixed_or_mobile"}


def number(region, nsn):
    n = phonenumbers.PhoneNumber()
    n.country_code = phonenumbers.country_code_for_region(region)
    n.national_number = int(nsn) if nsn else 0
    zeros = len(nsn) - len(nsn.lstrip("0"))
    if zeros:
        n.italian_leading_zero = True
        n.number_of_leading_zeros = min(zeros, len(nsn) - 1) if len(nsn) > 1 else 1
    return n


def verdict(region, nsn, written):
    n = number(region, nsn)
    if not phonenumbers.is_valid_number_for_region(n, region):
        kind = "invalid"
    else:
        kind = MOBILE.get(phonenumbers.number_type(n), "not_mobile")
    e164 = phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.NATIONAL)
    name = carrier.name_for_number(n, "en") if kind != "invalid" else ""
    read = ""
    if written:
        try:
            read = phonenumbers.format_number(
                phonenumbers.parse(written, region), phonenumbers.PhoneNumberFormat.E164
            )
        except phonenumbers.NumberParseException as e:
            read = "error:" + str(e.error_type)
    return "\t".join([kind, e164, national, name, read])


def main():
    mode = sys.argv[1]
    out = sys.stdout
    if mode == "meta":
        for region in sys.argv[2:]:
            example = phonenumbers.example_number_for_type(region, T.MOBILE)
            out.write(
                "\t".join(
                    [
                        region,
                        str(phonenumbers.country_code_for_region(region)),
                        str(phonenumbers.is_mobile_number_portable_region(region)).lower(),
                        phonenumbers.national_significant_number(example),
                    ]
                )
                + "\n"
            )
    elif mode == "verdicts":
        for line in sys.stdin:
            region, nsn, written = line.rstrip("\n").split("\t")
            out.write(verdict(region, nsn, written) + "\n")
    elif mode == "unicode":
        for cp in range(0x110000):
            ch = chr(cp)
            digits = phonenumbers.normalize_digits_only(ch)
            if digits and cp > 0x7F:
                out.write("digit\t%x\t%s\t%s\n" % (cp, digits, unicodedata.category(ch)))
            if unicodedata.category(ch) == "Cf":
                out.write("format\t%x\n" % cp)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
