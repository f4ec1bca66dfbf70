//! The sync protocol's wire format: one request and one response per stream, each a `u32`
//! big-endian length followed by that many opaque bytes.
//!
//! The length is checked against the limit before anything is allocated, and the body buffer
//! then grows only as bytes actually arrive, so a peer announcing a large frame and sending
//! nothing costs us nothing.

use std::{fmt, io};

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response;

/// Initial buffer for a frame body; larger bodies grow the buffer as they arrive.
const INITIAL_FRAME_BUFFER: usize = 64 * 1024;

/// Which side of the exchange a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameKind {
    Request,
    Response,
}

impl FrameKind {
    fn limit_name(self) -> &'static str {
        match self {
            FrameKind::Request => "max_request_bytes",
            FrameKind::Response => "max_response_bytes",
        }
    }
}

impl fmt::Display for FrameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameKind::Request => "request",
            FrameKind::Response => "response",
        })
    }
}

/// A frame over its limit. Carried inside an [`io::Error`] (the codec trait's error type) and
/// recovered with [`FrameTooLarge::find`] so the requester can report which limit was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameTooLarge {
    pub(crate) kind: FrameKind,
    pub(crate) size: u64,
    pub(crate) limit: usize,
}

impl fmt::Display for FrameTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} bytes exceeds the {} limit of {} bytes",
            self.kind,
            self.size,
            self.kind.limit_name(),
            self.limit
        )
    }
}

impl std::error::Error for FrameTooLarge {}

impl FrameTooLarge {
    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// The [`FrameTooLarge`] inside an I/O error produced by this codec, if that is what it is.
    pub(crate) fn find(err: &io::Error) -> Option<FrameTooLarge> {
        err.get_ref()
            .and_then(|inner| inner.downcast_ref::<FrameTooLarge>())
            .copied()
    }
}

/// Length-prefixed opaque bytes, bounded in both directions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BytesCodec {
    max_request_bytes: usize,
    max_response_bytes: usize,
}

impl BytesCodec {
    pub(crate) fn new(max_request_bytes: usize, max_response_bytes: usize) -> Self {
        Self {
            max_request_bytes,
            max_response_bytes,
        }
    }
}

pub(crate) async fn read_frame<T>(io: &mut T, limit: usize, kind: FrameKind) -> io::Result<Vec<u8>>
where
    T: AsyncRead + Unpin + Send,
{
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let size = u32::from_be_bytes(prefix);
    let too_large = FrameTooLarge {
        kind,
        size: u64::from(size),
        limit,
    };
    let Ok(expected) = usize::try_from(size) else {
        return Err(too_large.into_io());
    };
    if expected > limit {
        return Err(too_large.into_io());
    }
    let mut body = Vec::with_capacity(expected.min(INITIAL_FRAME_BUFFER));
    let read = (&mut *io)
        .take(u64::from(size))
        .read_to_end(&mut body)
        .await?;
    if read != expected {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("{kind} truncated: announced {expected} bytes, received {read}"),
        ));
    }
    Ok(body)
}

pub(crate) async fn write_frame<T>(
    io: &mut T,
    body: &[u8],
    limit: usize,
    kind: FrameKind,
) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
{
    let size = u32::try_from(body.len())
        .ok()
        .filter(|_| body.len() <= limit);
    let Some(size) = size else {
        return Err(FrameTooLarge {
            kind,
            size: u64::try_from(body.len()).unwrap_or(u64::MAX),
            limit,
        }
        .into_io());
    };
    io.write_all(&size.to_be_bytes()).await?;
    io.write_all(body).await?;
    io.flush().await
}

impl request_response::Codec for BytesCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_request_bytes, FrameKind::Request).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_response_bytes, FrameKind::Response).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req, self.max_request_bytes, FrameKind::Request).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res, self.max_response_bytes, FrameKind::Response).await
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use futures::io::Cursor;

    use super::*;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn round_trip_up_to_and_including_the_limit() {
        for len in [0usize, 1, 100, 4096] {
            let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut wire = Cursor::new(Vec::new());
            block_on(write_frame(&mut wire, &body, 4096, FrameKind::Request)).unwrap();
            assert_eq!(wire.get_ref(), &framed(&body));
            let mut wire = Cursor::new(wire.into_inner());
            let back = block_on(read_frame(&mut wire, 4096, FrameKind::Request)).unwrap();
            assert_eq!(back, body);
        }
    }

    #[test]
    fn writing_over_the_limit_is_refused_and_names_the_limit() {
        let mut wire = Cursor::new(Vec::new());
        let err = block_on(write_frame(&mut wire, &[0; 11], 10, FrameKind::Response)).unwrap_err();
        assert_eq!(
            FrameTooLarge::find(&err),
            Some(FrameTooLarge {
                kind: FrameKind::Response,
                size: 11,
                limit: 10
            })
        );
        assert!(err.to_string().contains("max_response_bytes limit of 10"));
        assert!(wire.get_ref().is_empty(), "nothing written");
    }

    #[test]
    fn an_announced_length_over_the_limit_is_rejected_before_reading_the_body() {
        // Announces 4 GiB - 1 and sends nothing more: must fail on the prefix alone.
        let mut wire = Cursor::new(u32::MAX.to_be_bytes().to_vec());
        let err = block_on(read_frame(&mut wire, 1024, FrameKind::Response)).unwrap_err();
        let found = FrameTooLarge::find(&err).unwrap();
        assert_eq!((found.size, found.limit), (u64::from(u32::MAX), 1024));

        let mut wire = Cursor::new(framed(&[7; 1025]));
        let err = block_on(read_frame(&mut wire, 1024, FrameKind::Request)).unwrap_err();
        assert!(err.to_string().contains("max_request_bytes limit of 1024"));
    }

    #[test]
    fn truncated_frames_are_errors_not_short_bodies() {
        let mut bytes = framed(&[1; 10]);
        bytes.truncate(8);
        let err =
            block_on(read_frame(&mut Cursor::new(bytes), 64, FrameKind::Request)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(FrameTooLarge::find(&err).is_none());

        let err = block_on(read_frame(
            &mut Cursor::new(vec![0, 0]),
            64,
            FrameKind::Request,
        ))
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
