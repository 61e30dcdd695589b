// Positive fixture for `unchecked_size_cast`.
use std::io::{Read, Seek, SeekFrom};

struct Header {
    data_offset: u64,
}

// The real-loader shape: a `seek(End)` result cast to `usize`.
fn file_size(file: &mut File) -> io::Result<Vec<u8>> {
    let end = file.seek(SeekFrom::End(0))?;
    let mut buf = vec![0; end as usize]; //~ unchecked_size_cast
    file.rewind()?;
    file.read_exact(&mut buf)?;
    let pos = file.stream_position()? as u32; //~ unchecked_size_cast
    Ok(buf)
}

fn header_len(bytes: &[u8; 8]) -> usize {
    u64::from_le_bytes(*bytes) as usize //~ unchecked_size_cast
}

fn map_len(file: &File) -> io::Result<usize> {
    let meta = file.metadata()?;
    Ok(meta.len() as usize) //~ unchecked_size_cast
}

fn direct(path: &Path) -> io::Result<u32> {
    Ok(std::fs::metadata(path)?.len() as u32) //~ unchecked_size_cast
}

fn tensor_end(header: &Header, len: u64) -> usize {
    let end = header.data_offset + len;
    let _field = header.data_offset as usize; //~ unchecked_size_cast
    end as usize //~ unchecked_size_cast
}
