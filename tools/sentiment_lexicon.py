"""A small polarity lexicon of plainly polar everyday French words, applied by
``train_sentiment.py`` as fixed priors (``with_lexicon_prior``), the way emoji priors are.

Why: the French training data are tweets about climate and energy (DEFT 2015) and reviews of
television series; words a community manager reads every day in customer comments came out of
them with weights absurd for general French (``beau`` and ``jolie`` leaning negative, ``trop``
negative, ``deteste`` neutral). The words below were written in advance, from general French
usage (a word whose tone depends on its context, such as ``terrible``, ``grave``, ``trop``,
``retard`` or ``rapide``, is left out), before measuring anything; they are the model's
normalised forms (lower case, no accents). Each gets a fixed prior: the word alone reads
``LEXICON_PRIOR`` toward its class. Forms not listed are scored by the trained model (their
character n-grams). Not tuned on any evaluation text.
"""

POLAR_WORDS = {
    "fr": {
        "positive": """
            beau belle beaux belles joli jolie jolis jolies magnifique magnifiques sublime sublimes
            superbe superbes splendide canon mignon mignonne mignons mignonnes adorable adorables
            adore adorer adoree aime jadore
            genial geniale geniaux geniales super top excellent excellente excellents parfait parfaite
            parfaitement impeccable impeccables nickel formidable incroyable merveilleux merveilleuse
            ravi ravie ravis ravies content contente contents contentes heureux heureuse satisfait satisfaite
            enchante enchantee
            bravo merci felicitations recommande recommandons
            delicieux delicieuse delicieuses bon bonne bons bonnes confortable confortables agreable
            efficace efficaces pratique sympa accueillant accueillante gentil gentille
            reussi reussie reussite plaisir coeur fan
        """,
        "negative": """
            deteste detester nul nulle nuls nulles horrible horribles affreux affreuse moche moches
            immonde degoutant degoutante ecoeurant infect infecte
            decu decue decus decues decevant decevante deception
            mauvais mauvaise mauvaises mediocre lamentable pitoyable catastrophique catastrophe
            honteux honteuse honte scandaleux scandaleuse scandale inadmissible inacceptable
            arnaque arnaqueur escroquerie escroc vol
            furieux furieuse enerve enervee agace agacee marre
            inutile inutiles inutilisable inexistant inexistante
            casse cassee abime abimee defectueux defectueuse
            desagreable impoli impolie malpoli regrette
        """,
    },
}
"""Per language, class and words (whitespace-separated)."""
