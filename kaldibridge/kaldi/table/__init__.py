"""Kaldi table I/O: rx/wxfilenames, r/wspecifiers, holders, table readers and writers.

Reading and writing every table a Kaldi feature pipeline touches, byte-compatible with
Kaldi (including ``copy-feats --compress`` output for all compression methods), with
vectorized numpy parsing.

Quick start::

    from kaldibridge.kaldi.table import SequentialTableReader, TableWriter, read_mat

    with SequentialTableReader("scp:data/feats.scp") as feats, \\
            TableWriter("ark,scp:out.ark,out.scp") as out:
        for key, mat in feats:          # mat: (frames, dim) float32 numpy array
            out.write(key, mat * 2)
    m = read_mat("out.ark:9[0:9]")       # rows 0..9 INCLUSIVE (10 rows), Kaldi's semantics

Filenames (:mod:`.xfilename`): an rxfilename is a path, ``-`` (stdin), ``"cmd |"`` (a
shell pipe), ``"file:OFFSET"``, optionally followed by a range ``[r1:r2]``,
``[r1:r2,c1:c2]``, ``[:,c1:c2]`` (or ``[,c1:c2]``) with inclusive bounds where a single
object is read (scp entries, :func:`read_object`). A wxfilename is a path, ``-`` or
``"| cmd"``. **Pipes execute shell commands**; refuse them with ``allow_pipes=False`` or
``KALDIBRIDGE_NO_PIPES=1`` (:class:`~kaldibridge.errors.PipesRefusedError`). A failing pipe
raises :class:`~kaldibridge.errors.PipeError` with the command and exit status.

Specifiers (:mod:`.specifiers`): rspecifier options ``ark scp o no s ns cs ncs p np bg b t``,
wspecifier options ``ark scp b t f nf p``, separated by commas without spaces (Kaldi's
parser). Accepted no-ops: ``b`` and ``t`` in rspecifiers (as in Kaldi), ``bg`` (no
background thread here), ``o``/``no``/``ncs`` beyond the memory they save, ``np``/``ns``.

Holders (the ``holder=`` argument; Kaldi's names in brackets):

=====================  ======================================================================
``matrix``             float32 ``(rows, cols)``; reads FM, DM, CM, CM2, CM3 and text
                       [``Matrix<BaseFloat>``]
``double_matrix``      float64 matrix, same inputs [``Matrix<double>``]
``compressed_matrix``  :class:`CompressedMatrix` values; writes arrays compressed with
                       ``method=1..7``, byte-identical to Kaldi [``CompressedMatrix``]
``general_matrix``     float32 matrix or, for CM/CM2/CM3 data, :class:`CompressedMatrix`
                       kept as read and written back byte for byte [``GeneralMatrix``]
``vector``             float32 ``(dim,)``; FV/DV/text [``Vector<BaseFloat>``]
``double_vector``      float64 vector [``Vector<double>``]
``int_vector``         int32 ``(dim,)`` [``BasicVectorHolder<int32>``]
``int_vector_vector``  list of int32 arrays [``BasicVectorVectorHolder<int32>``]
``posterior``          ``list[list[tuple[int, float]]]`` [``PosteriorHolder``]
``int``/``float``/     Python scalars; text ``key value `` lines as in utt2dur, utt2num_frames
``double``/``bool``    [``BasicHolder``]
``token``              ``str`` [``TokenHolder``]
``token_vector``       ``list[str]`` [``TokenVectorHolder``]
``wave``               ``WaveData`` from :mod:`kaldibridge.kaldi.wave`, a RIFF file per entry
                       [``WaveHolder``]
``htk_matrix``         ``(matrix, HtkHeader)``; ``--output-format=htk`` [``HtkMatrixHolder``]
``sphinx_matrix``      float32 ``(frames, 13)``; CMU Sphinx feature files, binary only
                       (``copy-feats --sphinx-in``) [``SphinxMatrixHolder<13>``]
=====================  ======================================================================

Single int32 vector files (``ReadIntegerVector``/``WriteIntegerVector``, a format unlike the
``int_vector`` table entries): :func:`read_integer_vector`, :func:`write_integer_vector`.

Readers return numpy arrays, or torch tensors with ``as_torch=True``; every value is freshly
allocated. Text output uses Kaldi's formatting (7 significant digits).
"""

from kaldibridge.kaldi.table.compressed import CompressedMatrix, compress, decompress
from kaldibridge.kaldi.table.helpers import (
    ReadHelper,
    WriteHelper,
    load_ark,
    load_scp,
    read_int_vec,
    read_integer_vector,
    read_mat,
    read_vec,
    save_ark,
    write_integer_vector,
    write_mat,
    write_vec,
)
from kaldibridge.kaldi.table.holders import HOLDERS, Holder, HtkHeader, get_holder, is_token
from kaldibridge.kaldi.table.readers import (
    RandomAccessTableReader,
    SequentialTableReader,
    read_object,
    read_script_file,
)
from kaldibridge.kaldi.table.specifiers import (
    Rspecifier,
    Wspecifier,
    classify_rxfilename,
    classify_wxfilename,
    is_rspecifier,
    is_wspecifier,
    parse_rspecifier,
    parse_wspecifier,
)
from kaldibridge.kaldi.table.writers import TableWriter, write_object
from kaldibridge.kaldi.table.xfilename import InputStream, OutputStream, open_rx, open_wx

__all__ = [
    "CompressedMatrix",
    "compress",
    "decompress",
    "HOLDERS",
    "Holder",
    "HtkHeader",
    "get_holder",
    "is_token",
    "SequentialTableReader",
    "RandomAccessTableReader",
    "TableWriter",
    "read_object",
    "write_object",
    "read_script_file",
    "Rspecifier",
    "Wspecifier",
    "parse_rspecifier",
    "parse_wspecifier",
    "classify_rxfilename",
    "classify_wxfilename",
    "is_rspecifier",
    "is_wspecifier",
    "InputStream",
    "OutputStream",
    "open_rx",
    "open_wx",
    "read_mat",
    "read_vec",
    "read_int_vec",
    "write_mat",
    "write_vec",
    "read_integer_vector",
    "write_integer_vector",
    "load_ark",
    "load_scp",
    "save_ark",
    "ReadHelper",
    "WriteHelper",
]
