//! A minimal FlatBuffers writer: just enough for Arrow IPC metadata (tables
//! with scalar and offset fields, strings, vectors of tables, vectors of
//! 16-byte structs).
//!
//! Objects are laid out front to back: each table's vtable sits right before
//! it (so the table's `soffset` is positive) and every child is written after
//! its parent, so all `uoffset`s point forward as the format requires. Every
//! scalar is aligned to its size relative to the buffer start, which is what
//! the FlatBuffers verifier (and so `pyarrow`) checks.

/// A table field's value.
pub enum Field {
    U8(u8),
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    /// A reference to a child object.
    Off(Obj),
}

impl Field {
    fn size(&self) -> usize {
        match self {
            Field::U8(_) | Field::Bool(_) => 1,
            Field::I16(_) => 2,
            Field::I32(_) | Field::Off(_) => 4,
            Field::I64(_) => 8,
        }
    }
}

/// An object that can be referenced by offset.
pub enum Obj {
    /// Fields by vtable slot.
    Table(Vec<(u16, Field)>),
    Str(String),
    TableVec(Vec<Obj>),
    /// A vector of 8-byte-aligned structs, already serialized.
    Structs {
        bytes: Vec<u8>,
        count: u32,
    },
}

impl Obj {
    pub fn table(fields: Vec<(u16, Field)>) -> Obj {
        Obj::Table(fields)
    }

    /// A vector of `{i64, i64}` structs (Arrow's `FieldNode` and `Buffer`).
    pub fn structs(pairs: &[(i64, i64)]) -> Obj {
        let mut bytes = Vec::with_capacity(pairs.len() * 16);
        for (a, b) in pairs {
            bytes.extend_from_slice(&a.to_le_bytes());
            bytes.extend_from_slice(&b.to_le_bytes());
        }
        Obj::Structs {
            bytes,
            count: pairs.len() as u32,
        }
    }
}

/// Serializes `root` as a finished buffer (root `uoffset` first).
pub fn finish(root: Obj) -> Vec<u8> {
    let mut w = Writer {
        buf: vec![0, 0, 0, 0],
    };
    let pos = w.write(root);
    w.patch(0, pos);
    w.buf
}

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn align(&mut self, to: usize) {
        while self.buf.len() % to != 0 {
            self.buf.push(0);
        }
    }

    /// Points the `uoffset` at `at` to `target` (always forward).
    fn patch(&mut self, at: usize, target: usize) {
        let rel = (target - at) as u32;
        self.buf[at..at + 4].copy_from_slice(&rel.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes `obj`; returns the position offsets to it must target.
    fn write(&mut self, obj: Obj) -> usize {
        match obj {
            Obj::Str(s) => {
                self.align(4);
                let pos = self.buf.len();
                self.u32(s.len() as u32);
                self.buf.extend_from_slice(s.as_bytes());
                self.buf.push(0);
                pos
            }
            Obj::Structs { bytes, count } => {
                // The elements (after the 4-byte length) start 8-aligned.
                self.align(4);
                if (self.buf.len() + 4) % 8 != 0 {
                    self.u32(0);
                }
                let pos = self.buf.len();
                self.u32(count);
                self.buf.extend_from_slice(&bytes);
                pos
            }
            Obj::TableVec(items) => {
                self.align(4);
                let pos = self.buf.len();
                self.u32(items.len() as u32);
                let slots: Vec<usize> = (0..items.len()).map(|i| pos + 4 + 4 * i).collect();
                for _ in &items {
                    self.u32(0);
                }
                for (item, slot) in items.into_iter().zip(slots) {
                    let child = self.write(item);
                    self.patch(slot, child);
                }
                pos
            }
            Obj::Table(mut fields) => self.table(&mut fields),
        }
    }

    fn table(&mut self, fields: &mut Vec<(u16, Field)>) -> usize {
        // Inline layout: soffset at 0, then fields largest first so each sits
        // aligned to its size (the table itself starts 8-aligned).
        fields.sort_by_key(|(_, f)| std::cmp::Reverse(f.size()));
        let mut cursor = 4usize;
        let mut placed: Vec<(u16, usize)> = Vec::with_capacity(fields.len());
        for (slot, f) in fields.iter() {
            let size = f.size();
            cursor = cursor.div_ceil(size) * size;
            placed.push((*slot, cursor));
            cursor += size;
        }
        let table_size = cursor;
        let slots = fields
            .iter()
            .map(|(s, _)| *s as usize + 1)
            .max()
            .unwrap_or(0);

        // vtable: its size, the table's size, one field offset per slot.
        self.align(2);
        let vtable_pos = self.buf.len();
        let mut offsets = vec![0u16; slots];
        for (slot, at) in &placed {
            offsets[*slot as usize] = *at as u16;
        }
        self.buf
            .extend_from_slice(&((4 + 2 * slots) as u16).to_le_bytes());
        self.buf
            .extend_from_slice(&(table_size as u16).to_le_bytes());
        for o in offsets {
            self.buf.extend_from_slice(&o.to_le_bytes());
        }

        self.align(8);
        let table_pos = self.buf.len();
        self.buf.resize(table_pos + table_size, 0);
        let soffset = (table_pos - vtable_pos) as i32;
        self.buf[table_pos..table_pos + 4].copy_from_slice(&soffset.to_le_bytes());
        let mut children = Vec::new();
        for ((_, f), (_, at)) in fields.drain(..).zip(placed) {
            let at = table_pos + at;
            let bytes: Vec<u8> = match f {
                Field::U8(v) => vec![v],
                Field::Bool(b) => vec![u8::from(b)],
                Field::I16(v) => v.to_le_bytes().to_vec(),
                Field::I32(v) => v.to_le_bytes().to_vec(),
                Field::I64(v) => v.to_le_bytes().to_vec(),
                Field::Off(child) => {
                    children.push((at, child));
                    vec![0, 0, 0, 0]
                }
            };
            self.buf[at..at + bytes.len()].copy_from_slice(&bytes);
        }
        for (at, child) in children {
            let pos = self.write(child);
            self.patch(at, pos);
        }
        table_pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }
    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn table_reads_back() {
        let buf = finish(Obj::table(vec![
            (0, Field::I16(4)),
            (2, Field::Off(Obj::Str("hi".into()))),
            (3, Field::I64(77)),
        ]));
        let table = u32_at(&buf, 0) as usize;
        assert_eq!(table % 8, 0);
        let vtable = table - u32_at(&buf, table) as usize;
        assert_eq!(u16_at(&buf, vtable), 4 + 2 * 4);
        let field = |slot: usize| u16_at(&buf, vtable + 4 + 2 * slot) as usize;
        assert_eq!(field(1), 0, "absent slot");
        assert_eq!(u16_at(&buf, table + field(0)), 4);
        let i64_at = table + field(3);
        assert_eq!(i64_at % 8, 0);
        assert_eq!(buf[i64_at], 77);
        let s_ref = table + field(2);
        let s = s_ref + u32_at(&buf, s_ref) as usize;
        assert_eq!(u32_at(&buf, s), 2);
        assert_eq!(&buf[s + 4..s + 6], b"hi");
    }

    #[test]
    fn struct_vectors_are_eight_aligned() {
        let buf = finish(Obj::table(vec![(0, Field::Off(Obj::structs(&[(1, 2)])))]));
        let table = u32_at(&buf, 0) as usize;
        let vtable = table - u32_at(&buf, table) as usize;
        let at = table + u16_at(&buf, vtable + 4) as usize;
        let vec = at + u32_at(&buf, at) as usize;
        assert_eq!(u32_at(&buf, vec), 1);
        assert_eq!((vec + 4) % 8, 0);
    }
}
