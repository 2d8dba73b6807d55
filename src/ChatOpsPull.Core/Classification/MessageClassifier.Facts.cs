namespace ChatOpsPull.Core.Classification;

public static partial class MessageClassifier
{
    /// <summary>
    /// What the scan reads at positional phrases while it passes them, so that no rule reads the text again: the HTTP
    /// status after "status", "HTTP " or "response code" (the first one each anchor yields, in that order of
    /// preference), and whether ": denied" / ": eof" stand as whole words.
    /// </summary>
    private struct MessageFacts : IPhraseVisitor
    {
        private int _afterStatus;
        private int _afterHttp;
        private int _afterResponseCode;

        public readonly int Status => _afterStatus != 0 ? _afterStatus : _afterHttp != 0 ? _afterHttp : _afterResponseCode;

        public bool DeniedAsWord { get; private set; }

        public bool EofAsWord { get; private set; }

        /// <summary>": forbidden" right after a quote or a slash: the status text Go's transport gives for a proxy's CONNECT refusal.</summary>
        public bool ProxyRefusedConnect { get; private set; }

        public void Found(int phrase, ReadOnlySpan<char> text, int at)
        {
            var bit = PhraseMask.Bit(phrase);
            if (bit.Intersects(P.StatusWord))
            {
                _afterStatus = _afterStatus != 0 ? _afterStatus : StatusAfter(text[(at + "status".Length)..]);
            }
            else if (bit.Intersects(P.HttpWord))
            {
                _afterHttp = _afterHttp != 0 ? _afterHttp : StatusAfter(text[(at + "http ".Length)..]);
            }
            else if (bit.Intersects(P.ResponseCode))
            {
                _afterResponseCode = _afterResponseCode != 0 ? _afterResponseCode : StatusAfter(text[(at + "response code".Length)..]);
            }
            else if (bit.Intersects(P.DeniedWord))
            {
                DeniedAsWord |= IsWordEnd(text, at + ": denied".Length);
            }
            else if (bit.Intersects(P.EofWord))
            {
                EofAsWord |= IsWordEnd(text, at + ": eof".Length);
            }
            else if (bit.Intersects(P.ForbiddenWord))
            {
                ProxyRefusedConnect |= at > 0 && text[at - 1] is '"' or '/';
            }
        }

        private static bool IsWordEnd(ReadOnlySpan<char> text, int end) => end == text.Length || !char.IsAsciiLetterOrDigit(text[end]);

        /// <summary>The status right after an anchor, or after the URL the anchor names ("from GET request to https://…: 401").</summary>
        private static int StatusAfter(ReadOnlySpan<char> rest)
        {
            rest = SkipWords(rest);
            if (StatusAt(rest) is var status and not 0)
            {
                return status;
            }

            if (rest.StartsWith("from ", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            {
                var colon = rest.IndexOf(": ", StringComparison.Ordinal);
                if (colon >= 0 && StatusAt(rest[(colon + 2)..]) is var afterUrl and not 0)
                {
                    return afterUrl;
                }
            }

            return 0;
        }

        /// <summary>Past separators and the words "code"/"status" that sit between an anchor and its number.</summary>
        private static ReadOnlySpan<char> SkipWords(ReadOnlySpan<char> rest)
        {
            for (var words = 0; words < 3; words++)
            {
                rest = rest.TrimStart(" :(=");
                foreach (var word in (ReadOnlySpan<string>)["code", "status"])
                {
                    if (rest.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                    {
                        rest = rest[word.Length..];
                    }
                }
            }

            return rest.TrimStart(" :(=");
        }

        private static int StatusAt(ReadOnlySpan<char> rest)
        {
            rest = SkipWords(rest);
            return rest.Length >= 3 && rest[0] is >= '1' and <= '5' && char.IsAsciiDigit(rest[1]) && char.IsAsciiDigit(rest[2]) && (rest.Length == 3 || !char.IsAsciiDigit(rest[3]))
                ? ((rest[0] - '0') * 100) + ((rest[1] - '0') * 10) + (rest[2] - '0')
                : 0;
        }
    }
}
