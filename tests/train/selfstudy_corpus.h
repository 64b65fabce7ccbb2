// The corpus and probes of the self-study evidence test: short stories in
// the TinyStories style (so that stories260K can model them) about invented
// people, pets and places, and probes about them phrased differently from
// the corpus, so that only a model that has taken the facts in (in context
// or in a Cartridge) finds the continuations likely.
#pragma once

namespace cdb::test {

inline constexpr const char* kStoriesCorpus =
    "Once upon a time, there was a girl named Zuli. Zuli had a little frog named Bimbo. "
    "Bimbo was green and he liked to sing. Every day, Zuli and Bimbo went to the pond by the old mill. "
    "One day, Zuli saw a big fish in the pond. The fish was named Kato. Kato was orange and very shy. "
    "Bimbo sang a song and Kato came up to eat.\n"
    "Tom had a dog named Roxy. Roxy had a red hat. Roxy liked to dig in the garden. "
    "One day, Roxy found a shiny key under the tree. Tom took the key and opened the blue box. "
    "In the box, there were seven cookies. Tom and Roxy shared the cookies with Zuli.\n"
    "Mia lived in a small town called Pimble. In Pimble, it was always sunny. "
    "Mia had a kite shaped like a star. She flew the kite with her friend Lulu. "
    "The wind took the kite up high, and it got stuck in a tall tree. "
    "Lulu climbed the tree and got the kite back. Mia gave Lulu a big hug.\n";

// Likelihood probes: a prompt that does not copy the corpus's wording and a
// continuation that only the corpus makes likely.
inline constexpr const char* kStoriesProbes =
    R"({"prompt": "Zuli had a pet. It was a little frog, and his name was", "continuation": " Bimbo."}
{"prompt": "The shy fish in the pond was orange. His name was", "continuation": " Kato."}
{"prompt": "Tom's dog liked to dig. The dog was called", "continuation": " Roxy."}
{"prompt": "Roxy the dog wore a hat. The hat was", "continuation": " red."}
{"prompt": "Mia and her friend lived in a sunny town. The town was called", "continuation": " Pimble."}
{"prompt": "Mia flew her star kite with her friend", "continuation": " Lulu."}
{"prompt": "The girl who had a frog was named", "continuation": " Zuli."}
{"prompt": "Tom opened the box with the key. Inside the box there were", "continuation": " seven cookies."}
{"prompt": "Bimbo the frog was green and he liked to", "continuation": " sing."}
{"prompt": "The kite got stuck in a tree. The one who climbed the tree was", "continuation": " Lulu."}
{"prompt": "Zuli and her frog went to the pond by the", "continuation": " old mill."}
{"prompt": "What did Roxy find under the tree? Roxy found a", "continuation": " shiny key."}
{"prompt": "The name of the frog was", "choices": [" Bimbo.", " Kato.", " Roxy."], "answer": 0}
{"prompt": "The dog that found the key was", "choices": [" Lulu.", " Roxy.", " Pip."], "answer": 1}
{"prompt": "Mia lived in the town of", "choices": [" Pimble.", " Kato.", " Bimbo."], "answer": 0}
{"prompt": "The fish in the pond was named", "choices": [" Zuli.", " Mia.", " Kato."], "answer": 2}
)";

}  // namespace cdb::test
