using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Classification;

public static partial class MessageClassifier
{
    /// <summary>
    /// The message twice: as written (for quoting) and lower-cased (for searching), and the phrases found in it. The
    /// image, host and other details are read from it only when a summary is written.
    /// </summary>
    private readonly ref struct Message
    {
        private readonly ReadOnlySpan<char> original;
        private readonly ReadOnlySpan<char> lower;
        private readonly PhraseMask found;

        public Message(ReadOnlySpan<char> original, ReadOnlySpan<char> lower, PhraseMask found)
        {
            this.original = original;
            this.lower = lower;
            this.found = found;
        }

        public bool IsEmpty => lower.IsEmpty;

        public bool Has(PhraseMask phrases) => found.Intersects(phrases);

        /// <summary>The phrase as a whole last word: at the end, or followed by something that is not a letter or digit.</summary>
        public bool EndsWithWord(string phrase)
        {
            var from = 0;
            int at;
            while ((at = lower[from..].IndexOf(phrase, StringComparison.Ordinal)) >= 0)
            {
                var end = from + at + phrase.Length;
                if (end == lower.Length || !char.IsAsciiLetterOrDigit(lower[end]))
                {
                    return true;
                }

                from = end;
            }

            return false;
        }

        /// <summary>
        /// The first HTTP status written after "status", "HTTP " or "response code" ("unexpected status: 401", "response
        /// status code 429", "HTTP 403 response body", "(HTTP code 500)", "Response code: 401"), or after the URL such an
        /// anchor names ("unexpected status from HEAD request to https://…: 401", "unexpected HEAD status code https://…:
        /// 404 Not Found"), or 0. Numbers elsewhere (account ids, digests, ports) are not statuses.
        /// </summary>
        public int StatusCode()
        {
            foreach (var anchor in (ReadOnlySpan<string>)["status", "http ", "response code"])
            {
                var from = 0;
                int at;
                while ((at = lower[from..].IndexOf(anchor, StringComparison.Ordinal)) >= 0)
                {
                    from += at + anchor.Length;
                    var rest = SkipWords(lower[from..]);
                    if (StatusAt(rest) is var status and not 0)
                    {
                        return status;
                    }

                    // The number follows the URL the request went to: "from GET request to https://…: 401".
                    if (rest.StartsWith("from ", StringComparison.Ordinal) || rest.StartsWith("http", StringComparison.Ordinal))
                    {
                        var colon = rest.IndexOf(": ", StringComparison.Ordinal);
                        if (colon >= 0 && StatusAt(rest[(colon + 2)..]) is var afterUrl and not 0)
                        {
                            return afterUrl;
                        }
                    }
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
                    if (rest.StartsWith(word, StringComparison.Ordinal))
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

        /// <summary>The word after an anchor ("wanted to match registry.local"), up to a space, comma or quote.</summary>
        public string? WordAfter(string anchor)
        {
            var at = lower.IndexOf(anchor, StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            var rest = original[(at + anchor.Length)..];
            var end = rest.IndexOfAny(" ,\"");
            var word = (end < 0 ? rest : rest[..end]).TrimEnd('.');
            return word.IsEmpty ? null : word.ToString();
        }

        /// <summary>"linux/arm64" from "no matching manifest for linux/arm64 in …" or "architecture amd64, …, OS linux".</summary>
        public string? WantedPlatform()
        {
            foreach (var anchor in (ReadOnlySpan<string>)["no matching manifest for ", "wanted "])
            {
                if (Word(anchor, " ,") is { } platform && platform.Contains('/', StringComparison.Ordinal))
                {
                    return platform;
                }
            }

            var arch = lower.IndexOf("for architecture ", StringComparison.Ordinal);
            var os = lower.IndexOf(", os ", StringComparison.Ordinal);
            if (arch < 0 || os <= arch)
            {
                return null;
            }

            var a = original[(arch + "for architecture ".Length)..];
            a = a[..Math.Max(0, a.IndexOf(','))];
            var o = original[(os + ", os ".Length)..];
            var oEnd = o.IndexOfAny(" \",");
            o = oEnd < 0 ? o : o[..oEnd];
            return a.IsEmpty || o.IsEmpty ? null : string.Concat(o, "/", a);
        }

        /// <summary>The image named in the message, as written, or null.</summary>
        public string? Image()
        {
            // Kubelet quotes it ("Failed to pull image \"x\""), escaped once more inside sync-error lines.
            if (Quoted("image ") is { Length: > 0 } quoted)
            {
                return quoted;
            }

            if (Quoted("reference ") is { Length: > 0 } reference)
            {
                return reference;
            }

            // CRI-O / containers-image: "docker://quay.io/org/app:tag: reading manifest …".
            if (Word("docker://", " \",") is { Length: > 0 } source)
            {
                return source.TrimEnd(':');
            }

            // containers-image: "reading manifest 1.13 in docker.io/library/nginx: …".
            var reading = lower.IndexOf("reading manifest ", StringComparison.Ordinal);
            if (reading >= 0)
            {
                var rest = original[(reading + "reading manifest ".Length)..];
                var space = rest.IndexOf(' ');
                if (space > 0 && rest[space..].StartsWith(" in ", StringComparison.Ordinal))
                {
                    var tag = rest[..space];
                    var repository = rest[(space + 4)..];
                    var end = repository.IndexOfAny(": \"");
                    repository = end < 0 ? repository : repository[..end];
                    if (!repository.IsEmpty)
                    {
                        return string.Concat(repository, tag.Contains(':') ? "@" : ":", tag);
                    }
                }
            }

            // Docker: "manifest for nginx:1.99 not found" (not "no matching manifest for linux/amd64").
            var manifestFor = lower.IndexOf("manifest for ", StringComparison.Ordinal);
            if (manifestFor >= 0 && !lower[..manifestFor].EndsWith("matching ", StringComparison.Ordinal))
            {
                var rest = original[(manifestFor + "manifest for ".Length)..];
                var end = rest.IndexOf(' ');
                return end <= 0 ? null : rest[..end].ToString();
            }

            return null;
        }

        /// <summary>The registry host: from the image when one is named, else from a URL or a DNS lookup in the message.</summary>
        public string? Host(string? image)
        {
            // CRI-O names the source it actually contacted ("docker://quay.io/…") after resolving short names.
            var source = Word("docker://", " \",")?.TrimEnd(':') ?? image;
            if (source is not null)
            {
                return RegistryHost(source);
            }

            foreach (var scheme in (ReadOnlySpan<string>)["https://", "http://"])
            {
                var from = 0;
                int at;
                while ((at = lower[from..].IndexOf(scheme, StringComparison.Ordinal)) >= 0)
                {
                    var start = from + at + scheme.Length;
                    var end = original[start..].IndexOfAny("/\" ?");
                    var host = end < 0 ? original[start..] : original[start..(start + end)];
                    from = start;
                    if (host.IsEmpty || IsDocumentationHost(host))
                    {
                        continue;
                    }

                    // Docker Hub's API and token hosts stand for Docker Hub.
                    return DockerHub.IsServiceHost(host) ? DockerHub.Domain : host.ToString();
                }
            }

            foreach (var anchor in (ReadOnlySpan<string>)["lookup ", "pinging container registry ", "pinging docker registry "])
            {
                if (Word(anchor, " :\"") is { } host && host.Contains('.', StringComparison.Ordinal))
                {
                    return host;
                }
            }

            return null;
        }

        /// <summary>The text after an anchor, up to one of the stop characters (or the end).</summary>
        private string? Word(string anchor, string stops)
        {
            var at = lower.IndexOf(anchor, StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            var rest = original[(at + anchor.Length)..];
            var end = rest.IndexOfAny(stops);
            return (end < 0 ? rest : rest[..end]).ToString();
        }

        /// <summary>The first non-empty quoted text after an anchor: "image \"x\"", or "image \\\"x\\\"" inside a quoted error.</summary>
        private string? Quoted(string anchor)
        {
            var at = lower.IndexOf(anchor, StringComparison.Ordinal);
            while (at >= 0)
            {
                var rest = original[(at + anchor.Length)..].TrimStart('\\');
                if (!rest.IsEmpty && rest[0] == '"')
                {
                    rest = rest[1..];
                    var end = rest.IndexOfAny('"', '\\');
                    var value = end < 0 ? rest : rest[..end];
                    if (!value.IsEmpty)
                    {
                        return value.ToString();
                    }
                }

                var next = lower[(at + anchor.Length)..].IndexOf(anchor, StringComparison.Ordinal);
                at = next < 0 ? -1 : at + anchor.Length + next;
            }

            return null;
        }

        /// <summary>The registry of an image as the runtimes pick it (splitDockerDomain), without validating the rest.</summary>
        private static string RegistryHost(string image)
        {
            var slash = image.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0)
            {
                return DockerHub.Domain;
            }

            var first = image.AsSpan(0, slash);
            var isHost = first.SequenceEqual("localhost") || first.ContainsAny('.', ':') || first.IndexOfAnyInRange('A', 'Z') >= 0;
            return !isHost || DockerHub.IsRegistryHost(first) ? DockerHub.Domain : first.ToString();
        }

        /// <summary>Links to documentation inside registry messages are not the registry.</summary>
        private static bool IsDocumentationHost(ReadOnlySpan<char> host) =>
            host.SequenceEqual("www.docker.com") || host.SequenceEqual("docs.docker.com") || host.SequenceEqual("aka.ms")
            || host.SequenceEqual("cloud.google.com") || host.SequenceEqual("docs.aws.amazon.com") || host.SequenceEqual("learn.microsoft.com")
            || host.SequenceEqual("access.redhat.com");
    }
}
