"""Common English given names and their nicknames, for matching "Bob" with "Robert".

Each line of :data:`GROUPS_TEXT` is a formal name followed by the short forms people use for
it. A short form may belong to several formal names ("Chris" is Christopher, Christine and
Christina; "Alex" is Alexander and Alexandra), so matching is done on group membership:
two first names are nicknames of each other when they share a group. That keeps the
relation non-transitive, as it is in life: Christopher and Christine both answer to Chris
but are not the same name.
"""

from __future__ import annotations

from functools import cache

GROUPS_TEXT = """
aaron ron ronnie
abigail abby abbie gail
abraham abe bram
adam ad
adrian ade
agnes aggie nessa
albert al bert bertie
alexander alex alec al xander sandy lex sasha
alexandra alex alexa sandra sandy lexi sasha allie
alfred al alf alfie fred freddie
alice allie ally
alison ali allie
amanda mandy manda
amelia amy millie mia
andrew andy drew
angela angie
anthony tony ant
antonio tony
arthur art artie
barbara barb barbie babs
benjamin ben benny benji
bernard bernie
beverly bev
bradley brad
brandon bran
brian bri
bridget biddy bridie
caroline carol carrie caro
catherine cathy cath kate katie cat kathy
cynthia cindy
charles charlie chuck chas chaz
charlotte charlie lottie lotte
christian chris
christina chris tina chrissy
christine chris chrissy tina
christopher chris kit topher
clifford cliff
cornelius neil connie
cristina tina
daniel dan danny
danielle dani elle
david dave davey
deborah deb debbie debra
dennis denny
dominic dom
donald don donnie
dorothy dot dottie dolly
douglas doug
edmund ed eddie ned
edward ed eddie ted teddy ned
eleanor ellie nora nell elle
elizabeth liz lizzie beth betty eliza liza libby bess bessie lisa elsie
emily em emmy
emma em emmy
eugene gene
evelyn evie
francesca fran frankie
frances fran frannie frankie
francis frank frankie
frederick fred freddie fritz rick
gabriel gabe
gabrielle gabby gaby elle
geoffrey geoff jeff
gerald gerry jerry
gertrude gertie trudy
gilbert gil bert
gregory greg
gwendolyn gwen wendy
harold hal harry
harriet hattie
helen nell nellie
henry hank harry hal
herbert herb bert
hubert hugh bert
isaac ike
isabella bella izzy isa
isabel bella izzy
jacob jake jack
jacqueline jackie jacquie
james jim jimmy jamie jem
jane janie jenny
janet jan jenny
jeffrey jeff
jennifer jen jenny jenn
jeremy jerry
jessica jess jessie
joan joanie
joanna jo jojo
john jack johnny jon
jonathan jon jonny nathan nate
joseph joe joey jos
josephine jo josie
joshua josh
judith judy jude
julia jules julie
julian jules
katherine kate katie kathy kat kay kit cathy
kathleen kathy kate katie
kenneth ken kenny
kimberly kim kimmy
lawrence larry laurie
leonard leo len lenny
leslie les
lillian lily lil
louis lou louie
louise lou lulu
lucas luke
lucinda lucy cindy
madeline maddie maddy
margaret maggie meg peggy marge margie greta daisy
marjorie marge margie
martha marty patty
martin marty
mary molly polly mae mamie
matilda tilly mattie
matthew matt matty
maureen mo
maximilian max
maxwell max
melanie mel
melissa mel missy lissa
michael mike mikey mick mickey
michelle shelly michy
miriam mimi
mitchell mitch
nancy nan
nathan nate
nathaniel nate nat nathan
nicholas nick nicky nico
nicole nicky nikki cole
oliver ollie
olivia liv livvy ollie
pamela pam
patricia pat patty tricia trish
patrick pat paddy rick
penelope penny
peter pete
philip phil pip
phillip phil
priscilla prissy cilla
rachel rach
randolph randy
raymond ray
rebecca becky becca
richard rick ricky dick rich richie
robert rob robbie bob bobby bert
roberta bobbie robbie
rodney rod
roger rog
ronald ron ronnie
rosalind roz
rosemary rosie rose
ruth ruthie
samantha sam sammy
samuel sam sammy
sandra sandy
sarah sally sadie
sebastian seb bastian
sophia sophie
stanley stan
stephanie steph stevie
stephen steve stevie
steven steve stevie
stuart stu
susan sue susie suzy
suzanne sue susie suzy
sylvester sly
teresa terry tess tessa
theresa terry tess tessa
terence terry
theodore ted teddy theo
thomas tom tommy
timothy tim timmy
tobias toby
valerie val
veronica ronnie roni
victor vic
victoria vicky tori vic
vincent vince vinny
virginia ginny
walter walt wally
wilfred wil fred
william will bill billy willy liam
winifred winnie freda
yvonne vonnie
zachary zach zack
"""


def _parse(text: str) -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for line in text.strip().splitlines():
        names = line.split()
        formal = names[0]
        for name in names:
            groups.setdefault(name, set()).add(formal)
    return {name: frozenset(formals) for name, formals in groups.items()}


#: name (lower case) -> the formal names it stands for (a formal name stands for itself).
GROUPS: dict[str, frozenset[str]] = _parse(GROUPS_TEXT)


@cache
def are_nicknames(a: str, b: str) -> bool:
    """True when two lower-cased first names are the same name or nicknames of each other."""
    if a == b:
        return True
    ga = GROUPS.get(a)
    gb = GROUPS.get(b)
    return ga is not None and gb is not None and not ga.isdisjoint(gb)


def formal_names(name: str) -> frozenset[str]:
    """The formal names a lower-cased first name may stand for (itself if unknown)."""
    return GROUPS.get(name, frozenset((name,)))
