using System.Text;

namespace ChatOpsPull.Cli;

/// <summary>One input line, or the fact that it was longer than allowed (its text is then dropped, not buffered).</summary>
public readonly record struct InputLine(int Number, string? Text, bool TooLong);

/// <summary>
/// Reads lines ("\n", "\r\n" or "\r" endings) from a <see cref="TextReader"/> without ever holding more than
/// <c>maxLength</c> characters of one line: an over-long line is consumed to its end and reported as such.
/// </summary>
public sealed class BoundedLineReader(TextReader reader, int maxLength)
{
    private readonly char[] _buffer = new char[8192];
    private readonly StringBuilder _line = new();
    private int _position;
    private int _count;
    private int _lineNumber;
    private bool _skipLineFeed;

    public async ValueTask<InputLine?> ReadLineAsync(CancellationToken cancellationToken = default)
    {
        _line.Clear();
        var tooLong = false;
        var sawAny = false;
        while (true)
        {
            if (_position == _count)
            {
                _count = await reader.ReadAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                _position = 0;
                if (_count == 0)
                {
                    return sawAny ? Finish(tooLong) : null;
                }
            }

            if (_skipLineFeed)
            {
                _skipLineFeed = false;
                if (_buffer[_position] == '\n')
                {
                    _position++;
                    continue;
                }
            }

            var span = _buffer.AsSpan(_position, _count - _position);
            var end = span.IndexOfAny('\n', '\r');
            var chunk = end < 0 ? span : span[..end];
            sawAny = true;
            if (!tooLong)
            {
                if (_line.Length + chunk.Length > maxLength)
                {
                    tooLong = true;
                    _line.Clear();
                }
                else
                {
                    _line.Append(chunk);
                }
            }

            if (end < 0)
            {
                _position = _count;
                continue;
            }

            _skipLineFeed = span[end] == '\r';
            _position += end + 1;
            return Finish(tooLong);
        }
    }

    private InputLine Finish(bool tooLong)
    {
        _lineNumber++;
        return new InputLine(_lineNumber, tooLong ? null : _line.ToString(), tooLong);
    }
}
