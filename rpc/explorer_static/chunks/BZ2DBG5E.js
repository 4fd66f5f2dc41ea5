import{a as e,b as r}from"./CDRWKLKB.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{e as ArchitectureModule,r as createArchitectureServices};
