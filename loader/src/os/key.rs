//! [`FileKey`]: what tells two files apart; [`FileKind`]: what an open handle names.

use std::fmt;

/// What makes two opens "the same file": the file's identity (device and inode, or volume and
/// file index) plus its size and times, so a file modified or replaced is a different key
/// while two paths to one file (symlink, hard link, relative vs absolute) are the same key.
///
/// Inode numbers are reused as soon as a file is freed (ext4 hands the number of a file just
/// replaced by rename to the very next new file), and `tar x`, `cp -p` and reproducible builds
/// give the new file the old one's size and modification time. The key therefore also holds
/// the status-change time and, where the OS reports it, the birth time — and the registry
/// holds every file it shares open or mapped, so its inode cannot be freed and reused while a
/// session could be handed the old bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct FileKey {
    /// Device (Unix) or volume serial number (Windows).
    pub device: u64,
    /// Inode (Unix) or file index (Windows).
    pub inode: u64,
    /// Size in bytes when opened.
    pub len: u64,
    /// Modification time in nanoseconds since the Unix epoch (any clock of the backend: only
    /// compared for equality).
    pub mtime_ns: i128,
    /// Status-change time (`ctime`; Windows: the change time), set by the OS on every write,
    /// rename or attribute change and not settable by `utimensat` or `cp -p`. 0 if unknown.
    pub ctime_ns: i128,
    /// Birth (creation) time where the OS reports it (`statx` `STATX_BTIME`, Windows creation
    /// time), else `None`.
    pub btime_ns: Option<i128>,
}

impl FileKey {
    /// A key from identity, size and modification time; change and birth times unknown. For
    /// [`Os`](super::Os) implementations outside loadguard.
    #[must_use]
    pub fn new(device: u64, inode: u64, len: u64, mtime_ns: i128) -> Self {
        Self {
            device,
            inode,
            len,
            mtime_ns,
            ctime_ns: 0,
            btime_ns: None,
        }
    }

    /// The same key with a status-change time.
    #[must_use]
    pub fn with_ctime(mut self, ctime_ns: i128) -> Self {
        self.ctime_ns = ctime_ns;
        self
    }

    /// The same key with a birth time.
    #[must_use]
    pub fn with_btime(mut self, btime_ns: i128) -> Self {
        self.btime_ns = Some(btime_ns);
        self
    }
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FileKey(dev {:#x}, ino {}, {} bytes, mtime {} ns, ctime {} ns",
            self.device, self.inode, self.len, self.mtime_ns, self.ctime_ns
        )?;
        match self.btime_ns {
            Some(b) => write!(f, ", btime {b} ns)"),
            None => f.write_str(")"),
        }
    }
}

/// What an open handle names. Only [`FileKind::Regular`] files have a size and contents that
/// can be shared by identity; everything else is a stream or not data at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A regular file (memfds included).
    Regular,
    /// A directory.
    Directory,
    /// A FIFO (named pipe) or pipe.
    Fifo,
    /// A socket.
    Socket,
    /// A character device (`/dev/null`, `/dev/zero`, a tty).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A file of a pseudo file system whose reported size is not its contents' (`/proc`,
    /// `/sys`, debugfs, …), named by the file system.
    PseudoFile(&'static str),
    /// Something else the OS could not classify.
    Other,
}

impl FileKind {
    /// Whether this is a regular file.
    #[must_use]
    pub fn is_regular(self) -> bool {
        self == Self::Regular
    }

    /// Whether reading it from the start to its end gives its contents (a pipe, a device, a
    /// pseudo-file): what [`LoadOptions::read_streams`](crate::LoadOptions::read_streams) reads.
    #[must_use]
    pub fn is_stream(self) -> bool {
        matches!(
            self,
            Self::Fifo | Self::Socket | Self::CharDevice | Self::PseudoFile(_)
        )
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Regular => f.write_str("a regular file"),
            Self::Directory => f.write_str("a directory"),
            Self::Fifo => f.write_str("a FIFO"),
            Self::Socket => f.write_str("a socket"),
            Self::CharDevice => f.write_str("a character device"),
            Self::BlockDevice => f.write_str("a block device"),
            Self::PseudoFile(fs) => write!(f, "a {fs} pseudo-file"),
            Self::Other => f.write_str("not a regular file"),
        }
    }
}
