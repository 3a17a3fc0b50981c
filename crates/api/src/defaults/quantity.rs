//! `resource.Quantity`: parsing, comparison and the canonical form the apiserver serializes
//! (`0.5` → `500m`, `1024Mi` → `1Gi`, `2000` → `2k`), with the milli-scale round-up that
//! `SetDefaults_ResourceList` applies.

use serde_json::Value;

/// The message Kubernetes returns for a malformed quantity.
pub(crate) const QUANTITY_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// How the suffix was written; kept when re-serializing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    DecimalSI,
    BinarySI,
    DecimalExponent,
}

/// A parsed quantity: the value in units of 10^-9 (exact), and its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quantity {
    nanos: i128,
    format: Format,
}

const NANO: i128 = 1_000_000_000;

impl Quantity {
    /// Parses a quantity string or JSON number; `None` when malformed or out of range.
    pub(crate) fn from_value(v: &Value) -> Option<Quantity> {
        match v {
            Value::String(s) => Quantity::parse(s),
            Value::Number(n) => Quantity::parse(&n.to_string()),
            _ => None,
        }
    }

    /// Parses `<signedNumber><suffix>` as `resource.ParseQuantity` does.
    pub(crate) fn parse(s: &str) -> Option<Quantity> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let (neg, rest) = match s.as_bytes()[0] {
            b'+' => (false, &s[1..]),
            b'-' => (true, &s[1..]),
            _ => (false, s),
        };
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, suffix) = rest.split_at(num_end);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        let (format, exp10, pow2) = match suffix {
            "" => (Format::DecimalSI, 0, 0),
            "n" => (Format::DecimalSI, -9, 0),
            "u" => (Format::DecimalSI, -6, 0),
            "m" => (Format::DecimalSI, -3, 0),
            "k" => (Format::DecimalSI, 3, 0),
            "M" => (Format::DecimalSI, 6, 0),
            "G" => (Format::DecimalSI, 9, 0),
            "T" => (Format::DecimalSI, 12, 0),
            "P" => (Format::DecimalSI, 15, 0),
            "E" => (Format::DecimalSI, 18, 0),
            "Ki" => (Format::BinarySI, 0, 10),
            "Mi" => (Format::BinarySI, 0, 20),
            "Gi" => (Format::BinarySI, 0, 30),
            "Ti" => (Format::BinarySI, 0, 40),
            "Pi" => (Format::BinarySI, 0, 50),
            "Ei" => (Format::BinarySI, 0, 60),
            e if e.starts_with(['e', 'E']) => {
                let n: i32 = e[1..].parse().ok()?;
                (Format::DecimalExponent, n, 0)
            }
            _ => return None,
        };
        // digits * 10^(exp10 - frac_len) * 2^pow2, expressed in nanos (ceil for sub-nano parts).
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        let mut mantissa: i128 = 0;
        for c in digits.chars() {
            mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(c.to_digit(10)?))?;
        }
        mantissa = mantissa.checked_mul(1i128.checked_shl(pow2)?)?;
        let scale = exp10 - frac_part.len() as i32 + 9;
        let nanos = if scale >= 0 {
            mantissa.checked_mul(10i128.checked_pow(u32::try_from(scale).ok()?)?)?
        } else {
            let div = 10i128.checked_pow(u32::try_from(-scale).ok()?).unwrap_or(i128::MAX);
            let q = mantissa / div;
            if mantissa % div != 0 {
                q + 1
            } else {
                q
            }
        };
        Some(Quantity { nanos: if neg { -nanos } else { nanos }, format })
    }

    /// Whether the quantity is negative.
    pub(crate) fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// Whether the quantity is strictly positive.
    pub(crate) fn is_positive(&self) -> bool {
        self.nanos > 0
    }

    /// The value in nanos, for exact comparisons and sums.
    pub(crate) fn nanos(&self) -> i128 {
        self.nanos
    }

    /// A copy rounded away from zero to a multiple of 10^-3 (`RoundUp(-3)`).
    pub(crate) fn round_up_milli(self) -> Quantity {
        const MILLI: i128 = 1_000_000;
        let r = self.nanos % MILLI;
        let nanos = if r == 0 {
            self.nanos
        } else if self.nanos > 0 {
            self.nanos - r + MILLI
        } else {
            self.nanos - r - MILLI
        };
        Quantity { nanos, format: self.format }
    }

    /// The canonical string (`Quantity.String()`).
    pub(crate) fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let mut format = self.format;
        if format == Format::BinarySI && (self.nanos.abs() < 1024 * NANO || self.nanos % NANO != 0) {
            format = Format::DecimalSI;
        }
        if format == Format::BinarySI {
            const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
            let mut v = self.nanos / NANO;
            let mut i = 0;
            while i < 6 && v % 1024 == 0 {
                v /= 1024;
                i += 1;
            }
            return format!("{v}{}", SUFFIXES[i]);
        }
        let mut v = self.nanos;
        let mut exp = -9i32;
        while exp < 18 && v % 1000 == 0 {
            v /= 1000;
            exp += 3;
        }
        let suffix = match (format, exp) {
            (_, 0) => String::new(),
            (Format::DecimalExponent, e) => format!("e{e}"),
            (_, -9) => "n".into(),
            (_, -6) => "u".into(),
            (_, -3) => "m".into(),
            (_, 3) => "k".into(),
            (_, 6) => "M".into(),
            (_, 9) => "G".into(),
            (_, 12) => "T".into(),
            (_, 15) => "P".into(),
            _ => "E".into(),
        };
        format!("{v}{suffix}")
    }
}

/// Canonicalizes one quantity value in place (strings and numbers; anything else is left alone).
pub(crate) fn canonicalize(v: &mut Value, round_milli: bool) {
    if let Some(q) = Quantity::from_value(v) {
        let q = if round_milli { q.round_up_milli() } else { q };
        *v = Value::String(q.canonical());
    }
}

/// `SetDefaults_ResourceList`: every quantity rounded up to milli scale and canonicalized.
pub(crate) fn canonicalize_list(list: Option<&mut Value>) {
    if let Some(map) = list.and_then(Value::as_object_mut) {
        for v in map.values_mut() {
            canonicalize(v, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Quantity::parse(s).unwrap().round_up_milli().canonical()
    }

    #[test]
    fn canonical_forms_match_go() {
        assert_eq!(canon("0.5"), "500m");
        assert_eq!(canon("1000m"), "1");
        assert_eq!(canon("1.5"), "1500m");
        assert_eq!(canon("1.5Gi"), "1536Mi");
        assert_eq!(canon("1024Mi"), "1Gi");
        assert_eq!(canon("128Mi"), "128Mi");
        assert_eq!(canon("2000"), "2k");
        assert_eq!(canon("1500"), "1500");
        assert_eq!(canon("100m"), "100m");
        assert_eq!(canon("0.1m"), "1m");
        assert_eq!(canon("1e3"), "1e3");
        assert_eq!(canon("512"), "512");
        assert_eq!(canon("0"), "0");
        assert_eq!(canon("-1.5"), "-1500m");
        assert_eq!(canon("1G"), "1G");
    }

    #[test]
    fn malformed_quantities_are_rejected() {
        for bad in ["", "abc", "1.2.3", "1Qi", "--1", "1 Gi", "."] {
            assert!(Quantity::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn comparison_is_exact() {
        let a = Quantity::parse("1").unwrap();
        let b = Quantity::parse("1000m").unwrap();
        assert_eq!(a.nanos(), b.nanos());
        assert!(Quantity::parse("1Ki").unwrap().nanos() > Quantity::parse("1k").unwrap().nanos());
    }
}
