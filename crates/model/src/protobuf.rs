//! Just enough of the protobuf wire format to read the ONNX messages [`crate::onnx`] needs:
//! fields are read one at a time out of a byte slice, every length checked against what is
//! left, unknown fields skipped, groups refused.

/// A field's value as it appears on the wire.
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// The fields of one message, in order.
pub(crate) struct Fields<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Self { b, at: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for i in 0..10 {
            let byte = *self
                .b
                .get(self.at)
                .ok_or_else(|| "protobuf truncated inside a varint".to_string())?;
            self.at += 1;
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("protobuf varint longer than 10 bytes".into())
    }

    fn bytes(&mut self, n: u64) -> Result<&'a [u8], String> {
        let left = self.b.len() - self.at;
        if n > left as u64 {
            return Err(format!("protobuf field of {n} bytes, only {left} left"));
        }
        let s = &self.b[self.at..self.at + n as usize];
        self.at += n as usize;
        Ok(s)
    }

    /// The next `(field number, value)`, or `None` at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, String> {
        if self.at >= self.b.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let (field, wire) = (key >> 3, key & 7);
        let v = match wire {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.bytes(8)?;
                Value::Fixed64
            }
            2 => {
                let n = self.varint()?;
                Value::Bytes(self.bytes(n)?)
            }
            5 => {
                let s = self.bytes(4)?;
                Value::Fixed32(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            }
            w => {
                return Err(format!(
                    "protobuf wire type {w} (field {field}) not supported"
                ));
            }
        };
        Ok(Some((field, v)))
    }
}

/// The varints of a repeated integer field, packed (`Bytes`) or one per occurrence.
pub(crate) fn push_varints(v: Value<'_>, out: &mut Vec<i64>, max: usize) -> Result<(), String> {
    match v {
        Value::Varint(x) => out.push(x as i64),
        Value::Bytes(b) => {
            let mut f = Fields::new(b);
            while f.at < b.len() {
                out.push(f.varint()? as i64);
                if out.len() > max {
                    break;
                }
            }
        }
        _ => return Err("protobuf: an integer field with a non-integer wire type".into()),
    }
    if out.len() > max {
        return Err(format!("more than {max} integers in a repeated field"));
    }
    Ok(())
}

/// The floats of a repeated float field, packed (`Bytes`) or one per occurrence.
pub(crate) fn push_floats(v: Value<'_>, out: &mut Vec<f32>, max: usize) -> Result<(), String> {
    match v {
        Value::Fixed32(x) => out.push(f32::from_bits(x)),
        Value::Bytes(b) => {
            if b.len() % 4 != 0 || out.len() + b.len() / 4 > max {
                return Err(format!(
                    "packed floats: {} bytes (at most {max} floats)",
                    b.len()
                ));
            }
            out.extend(
                b.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        _ => return Err("protobuf: a float field with a non-float wire type".into()),
    }
    if out.len() > max {
        return Err(format!("more than {max} floats in a repeated field"));
    }
    Ok(())
}

/// A string field's text.
pub(crate) fn string(v: Value<'_>) -> Result<String, String> {
    match v {
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        _ => Err("protobuf: a string field with a non-bytes wire type".into()),
    }
}

/// An embedded message's bytes.
pub(crate) fn message<'a>(v: Value<'a>) -> Result<&'a [u8], String> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err("protobuf: a message field with a non-bytes wire type".into()),
    }
}
