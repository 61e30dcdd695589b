// Negative fixture for `unchecked_size_cast`.
struct Header {
    count: u32,
    data_offset: u64,
}

fn checked(file: &File) -> Result<usize, Error> {
    let len = file.metadata()?.len();
    let len = usize::try_from(len).map_err(|_| Error::TooLarge)?;
    Ok(len as usize)
}

fn widening(header: &Header) -> u64 {
    header.count as u64 + header.data_offset
}

fn small(header: &Header) -> usize {
    // `count` is a u32: widening to usize on every supported target.
    header.count as usize
}

fn low_byte(value: u64) -> u8 {
    // A deliberate mask.
    (value & 0xff) as u8
}

fn to_float(value: u64) -> f64 {
    value as f64
}

fn vector_len(v: &[u8]) -> u32 {
    // `len()` of a slice is not a file length.
    v.len() as u32
}
