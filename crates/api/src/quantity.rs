//! Resource quantities (`100m`, `1.5Gi`, `2e3`) as Kubernetes parses them, held exactly in
//! nano-units so that `value()` and `milli_value()` round up as `resource.Quantity` does.

/// A parsed quantity, in billionths of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Amount {
    nanos: i128,
}

/// A quantity that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {0:?}")]
pub struct QuantityError(pub String);

fn div_ceil(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b != 0 && (a > 0) == (b > 0) {
        q + 1
    } else {
        q
    }
}

impl Amount {
    /// Parses `s`.
    pub fn parse(s: &str) -> Result<Amount, QuantityError> {
        let err = || QuantityError(s.to_string());
        let s = s.trim();
        let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len());
        let (number, suffix) = s.split_at(split);
        let (negative, digits) = match number.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, number.strip_prefix('+').unwrap_or(number)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if (int.is_empty() && frac.is_empty()) || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            return Err(err());
        }
        // The number in nano-units times 10^-frac.len(): exact as long as it fits.
        let mantissa: i128 = format!("{int}{frac}").parse().map_err(|_| err())?;
        let (multiplier, exp10): (i128, i32) = match suffix {
            "" => (1, 0),
            "n" => (1, -9),
            "u" => (1, -6),
            "m" => (1, -3),
            "k" => (1, 3),
            "M" => (1, 6),
            "G" => (1, 9),
            "T" => (1, 12),
            "P" => (1, 15),
            "E" => (1, 18),
            "Ki" => (1 << 10, 0),
            "Mi" => (1 << 20, 0),
            "Gi" => (1 << 30, 0),
            "Ti" => (1 << 40, 0),
            "Pi" => (1 << 50, 0),
            "Ei" => (1 << 60, 0),
            e if e.starts_with(['e', 'E']) => (1, e[1..].parse().map_err(|_| err())?),
            _ => return Err(err()),
        };
        let exp = exp10 + 9 - frac.len() as i32;
        let scaled = if exp >= 0 {
            10i128.checked_pow(exp as u32).and_then(|p| mantissa.checked_mul(p)).and_then(|v| v.checked_mul(multiplier))
        } else {
            let p = 10i128.checked_pow((-exp) as u32).ok_or_else(err)?;
            mantissa.checked_mul(multiplier).map(|v| div_ceil(v, p))
        }
        .ok_or_else(err)?;
        Ok(Amount { nanos: if negative { -scaled } else { scaled } })
    }

    /// The value in whole units, rounded up (`Quantity.Value()`).
    pub fn value(&self) -> i64 {
        div_ceil(self.nanos, 1_000_000_000) as i64
    }

    /// The value in thousandths, rounded up (`Quantity.MilliValue()`).
    pub fn milli_value(&self) -> i64 {
        div_ceil(self.nanos, 1_000_000) as i64
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Amount {
        Amount::parse(s).unwrap()
    }

    #[test]
    fn parses_like_resource_quantity() {
        assert_eq!(q("100m").milli_value(), 100);
        assert_eq!(q("100m").value(), 1);
        assert_eq!(q("1.5").milli_value(), 1500);
        assert_eq!(q("2").milli_value(), 2000);
        assert_eq!(q("64Mi").value(), 64 << 20);
        assert_eq!(q("1.5Gi").value(), 3 << 29);
        assert_eq!(q("1G").value(), 1_000_000_000);
        assert_eq!(q("128974848").value(), 128974848);
        assert_eq!(q("129e6").value(), 129_000_000);
        assert_eq!(q("1e-3").milli_value(), 1);
        assert_eq!(q("1n").milli_value(), 1, "rounds up");
        assert_eq!(q("-1").value(), -1);
        assert_eq!(q("0.1").milli_value(), 100);
        for bad in ["", "abc", "1x", "1.2.3", "Mi", "--1"] {
            assert!(Amount::parse(bad).is_err(), "{bad}");
        }
    }
}
